import { ReferenceRegister } from '../../src/register/reference-register.js';
import { registerContract } from './register-contract.js';

registerContract('ReferenceRegister', (options) => ({ register: new ReferenceRegister(options) }));
