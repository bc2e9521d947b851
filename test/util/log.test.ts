import { expect } from 'chai';
import { checkLogLevel, getLogger } from '../../src/log.js';

describe('log', () => {
  it('accepts every pino level name', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(checkLogLevel(level)).to.equal(level);
    }
  });

  it('rejects an unknown level with a message naming the option', () => {
    expect(() => checkLogLevel('loud', 'logLevel')).to.throw(TypeError, /logLevel: expected one of/);
  });

  it('makes a child of an injected logger, tagged with the component', () => {
    const base = getLogger('root', { logLevel: 'silent' });
    const child = getLogger('register', { logger: base });
    expect(child.bindings()).to.include({ component: 'register' });
  });
});
