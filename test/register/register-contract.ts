/**
 * The contract every SubscriptionRegister keeps, run against each implementation with a
 * factory. Deliveries are compared after sorting, since their order is not part of the contract.
 */
import { expect } from 'chai';
import { FilterTooDeepError, RegisterFullError, TopicError, type Delivery, type StoredSubscription, type SubscriptionRegister } from '../../src/register/types.js';

/** Options every implementation under test accepts. */
export interface ContractOptions {
  maxSubscriptions?: number;
  maxFilterLevels?: number;
}

export interface RegisterUnderTest {
  register: SubscriptionRegister;
  /** Extra consistency check after each test (e.g. the shared register's integrity walk). */
  check?: () => void;
}

export type RegisterFactory = (options?: ContractOptions) => RegisterUnderTest;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders listed subscriptions by filter (code units, not locale). */
export function byFilter(a: StoredSubscription, b: StoredSubscription): number {
  return cmp(a.filter, b.filter);
}

/** Deliveries in a canonical order: ordinary by session, then shared by group and session. */
export function sorted(deliveries: readonly Delivery[]): Delivery[] {
  return [...deliveries]
    .map((d) => ({ ...d, subscriptionIds: [...d.subscriptionIds] }))
    .sort((a, b) => cmp(a.shareGroup ?? '', b.shareGroup ?? '') || a.session - b.session);
}

/** The observable state: size, every session's subscriptions (sorted) and some answers. */
export function snapshot(r: SubscriptionRegister, sessions: number[], topics: string[]): unknown {
  return {
    size: r.size,
    subs: sessions.map((s) => r.subscriptionsOf(s).sort(byFilter)),
    answers: topics.map((t) => sorted(r.tryMatch(t, 0) ?? []).filter((d) => d.shareGroup === undefined)),
  };
}

function plain(session: number, qos: 0 | 1 | 2, ids: number[] = [], rap = false): Delivery {
  return { session, qos, retainAsPublished: rap, subscriptionIds: ids };
}

export function registerContract(name: string, factory: RegisterFactory): void {
  describe(`${name}: SubscriptionRegister contract`, () => {
    let r: SubscriptionRegister;
    let check: (() => void) | undefined;
    const make = (options?: ContractOptions): SubscriptionRegister => {
      const made = factory(options);
      r = made.register;
      check = made.check;
      return r;
    };
    beforeEach(() => make());
    afterEach(() => check?.());

    const m = (topic: string, publisher = 0): Delivery[] => sorted(r.tryMatch(topic, publisher)!);

    it('delivers an exact filter match and nothing for other topics', async () => {
      expect((await r.subscribe(1, 'a/b', { qos: 1 })).isNew).to.equal(true);
      expect(m('a/b')).to.deep.equal([plain(1, 1)]);
      expect(m('a/c')).to.deep.equal([]);
      expect(m('a')).to.deep.equal([]);
      expect(m('a/b/c')).to.deep.equal([]);
      expect(r.size).to.equal(1);
    });

    it("'+' matches exactly one level, empty levels included [MQTT-4.7.1-3]", async () => {
      await r.subscribe(1, 'a/+/c', { qos: 0 });
      await r.subscribe(2, '+', { qos: 0 });
      await r.subscribe(3, '+/+', { qos: 0 });
      expect(m('a/b/c')).to.deep.equal([plain(1, 0)]);
      expect(m('a//c')).to.deep.equal([plain(1, 0)]);
      expect(m('a/b/c/d')).to.deep.equal([]);
      expect(m('x')).to.deep.equal([plain(2, 0)]);
      expect(m('/')).to.deep.equal([plain(3, 0)]);
      expect(m('/x')).to.deep.equal([plain(3, 0)]);
    });

    it("'#' matches any number of levels, the parent level too [MQTT-4.7.1-2]", async () => {
      await r.subscribe(1, 'a/#', { qos: 0 });
      await r.subscribe(2, '#', { qos: 0 });
      await r.subscribe(3, 'a/+/#', { qos: 0 });
      expect(m('a')).to.deep.equal([plain(1, 0), plain(2, 0)]);
      expect(m('a/b')).to.deep.equal([plain(1, 0), plain(2, 0), plain(3, 0)]);
      expect(m('a/b/c/d')).to.deep.equal([plain(1, 0), plain(2, 0), plain(3, 0)]);
      expect(m('b')).to.deep.equal([plain(2, 0)]);
      expect(m('/')).to.deep.equal([plain(2, 0)]);
    });

    it("topics starting with '$' are not matched by filters starting with a wildcard [MQTT-4.7.2-1]", async () => {
      await r.subscribe(1, '#', { qos: 0 });
      await r.subscribe(2, '+/info', { qos: 0 });
      await r.subscribe(3, '$SYS/#', { qos: 0 });
      await r.subscribe(4, '$SYS/+', { qos: 0 });
      await r.subscribe(5, '$SYS/info', { qos: 0 });
      expect(m('$SYS/info')).to.deep.equal([plain(3, 0), plain(4, 0), plain(5, 0)]);
      expect(m('$SYS')).to.deep.equal([plain(3, 0)]);
      expect(m('x/info')).to.deep.equal([plain(1, 0), plain(2, 0)]);
      expect(m('a$/info')).to.deep.equal([plain(1, 0), plain(2, 0)]);
    });

    it('matches unicode levels by their characters', async () => {
      await r.subscribe(1, 'ü/🙂/+', { qos: 2 });
      await r.subscribe(2, '日本/#', { qos: 1 });
      expect(m('ü/🙂/x')).to.deep.equal([plain(1, 2)]);
      expect(m('u/🙂/x')).to.deep.equal([]);
      expect(m('日本')).to.deep.equal([plain(2, 1)]);
      expect(m('日本/ü')).to.deep.equal([plain(2, 1)]);
      expect(r.subscriptionsOf(1).map((s) => s.filter)).to.deep.equal(['ü/🙂/+']);
    });

    it('overlapping filters give one delivery at the highest QoS with every id ascending [MQTT-3.3.4-2] [MQTT-3.3.4-3]', async () => {
      await r.subscribe(1, 'a/b', { qos: 0, subscriptionId: 9 });
      await r.subscribe(1, 'a/+', { qos: 2, subscriptionId: 3 });
      await r.subscribe(1, '#', { qos: 1 });
      await r.subscribe(1, 'a/#', { qos: 0, subscriptionId: 5, retainAsPublished: true });
      expect(m('a/b')).to.deep.equal([plain(1, 2, [3, 5, 9], true)]);
      expect(m('a/c')).to.deep.equal([plain(1, 2, [3, 5], true)]);
      expect(m('z')).to.deep.equal([plain(1, 1)]);
    });

    it('overlapping filters with the same id carry it once per matching subscription [MQTT-3.3.4-4]', async () => {
      // 5.0 section 3.3.4: the single copy carries the identifiers "for all matching subscriptions
      // which have a Subscription Identifier"; the same value used twice is carried twice.
      await r.subscribe(1, 'a/+', { qos: 0, subscriptionId: 5 });
      await r.subscribe(1, 'a/#', { qos: 1, subscriptionId: 5 });
      await r.subscribe(1, '+/b', { qos: 0, subscriptionId: 5 });
      await r.subscribe(1, '#', { qos: 0, subscriptionId: 2 });
      expect(m('a/b')).to.deep.equal([plain(1, 1, [2, 5, 5, 5])]);
      expect(m('a/c')).to.deep.equal([plain(1, 1, [2, 5, 5])]);
      expect(m('a')).to.deep.equal([plain(1, 1, [2, 5])]);
      expect(m('z/b')).to.deep.equal([plain(1, 0, [2, 5])]);
      expect(await r.unsubscribe(1, 'a/#')).to.equal(true);
      expect(m('a/b')).to.deep.equal([plain(1, 0, [2, 5, 5])]);
    });

    it('a matching subscription without an id adds none; a session whose matches have none gets none [MQTT-3.3.4-4]', async () => {
      await r.subscribe(1, 'a/+', { qos: 2 });
      await r.subscribe(1, 'a/#', { qos: 0, subscriptionId: 5 });
      await r.subscribe(2, 'a/+', { qos: 0 });
      await r.subscribe(2, 'a/#', { qos: 1 });
      await r.subscribe(2, 'x', { qos: 0, subscriptionId: 9 });
      await r.subscribe(3, 'a/b', { qos: 0 });
      expect(m('a/b')).to.deep.equal([plain(1, 2, [5]), plain(2, 1), plain(3, 0)]);
      expect(m('a/b/c')).to.deep.equal([plain(1, 0, [5]), plain(2, 1)]);
      // Re-subscribing without an id removes it from the answers.
      await r.subscribe(1, 'a/#', { qos: 0 });
      expect(m('a/b')).to.deep.equal([plain(1, 2), plain(2, 1), plain(3, 0)]);
    });

    it('many sessions on crowded filters with the same ids each get every one of their matching ids [MQTT-3.3.4-4]', async () => {
      // Vectors of 4 or more entries are read through a matcher's reusable delivery lists.
      for (let s = 1; s <= 6; s++) {
        await r.subscribe(s, 'c/+', { qos: 0, subscriptionId: 3 });
        await r.subscribe(s, 'c/#', { qos: 0, subscriptionId: 3 });
        if (s % 2 === 0) await r.subscribe(s, 'c/d', { qos: 1, subscriptionId: s % 4 === 0 ? 3 : 8 });
      }
      const expected = [1, 2, 3, 4, 5, 6].map((s) => (s % 2 === 0 ? plain(s, 1, s % 4 === 0 ? [3, 3, 3] : [3, 3, 8]) : plain(s, 0, [3, 3])));
      for (let i = 0; i < 3; i++) expect(m('c/d')).to.deep.equal(expected);
      expect(m('c/e')).to.deep.equal([1, 2, 3, 4, 5, 6].map((s) => plain(s, 0, [3, 3])));
    });

    it("a shared group's delivery carries only the chosen member's id, apart from the member's ordinary copy (5.0 section 3.3.4)", async () => {
      await r.subscribe(1, '$share/g/a/+', { qos: 1, subscriptionId: 5 });
      await r.subscribe(1, 'a/#', { qos: 0, subscriptionId: 5 });
      await r.subscribe(1, 'a/+', { qos: 0, subscriptionId: 6 });
      await r.subscribe(2, '$share/g/a/+', { qos: 1 });
      const answers = [m('a/b'), m('a/b')];
      for (const ds of answers) {
        expect(ds.filter((d) => d.shareGroup === undefined)).to.deep.equal([plain(1, 0, [5, 6])]);
        expect(ds.filter((d) => d.shareGroup !== undefined)).to.have.length(1);
      }
      const shared = answers.map((ds) => ds.find((d) => d.shareGroup === 'g')!).sort((a, b) => a.session - b.session);
      expect(shared).to.deep.equal([
        { ...plain(1, 1, [5]), shareGroup: 'g' },
        { ...plain(2, 1), shareGroup: 'g' },
      ]);
    });

    it('No Local skips only the publishing session [MQTT-3.8.3-3]', async () => {
      await r.subscribe(1, 'a', { qos: 1, noLocal: true });
      await r.subscribe(2, 'a', { qos: 1, noLocal: true });
      await r.subscribe(3, 'a', { qos: 1 });
      expect(m('a', 1)).to.deep.equal([plain(2, 1), plain(3, 1)]);
      expect(m('a', 3)).to.deep.equal([plain(1, 1), plain(2, 1), plain(3, 1)]);
      expect(m('a', 0)).to.deep.equal([plain(1, 1), plain(2, 1), plain(3, 1)]);
    });

    it('No Local on one filter does not hide a matching filter without it', async () => {
      await r.subscribe(1, 'a', { qos: 1, noLocal: true });
      await r.subscribe(1, '#', { qos: 0 });
      expect(m('a', 1)).to.deep.equal([plain(1, 0)]);
    });

    it('a shared group yields exactly one member per message and reaches every member [MQTT-4.8.2]', async () => {
      for (const s of [1, 2, 3]) await r.subscribe(s, '$share/g/a/+', { qos: 1, subscriptionId: s * 10 });
      const seen = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const ds = m('a/x');
        expect(ds).to.have.length(1);
        const d = ds[0]!;
        expect(d.shareGroup).to.equal('g');
        expect(d.qos).to.equal(1);
        expect(d.subscriptionIds).to.deep.equal([d.session * 10]);
        seen.add(d.session);
      }
      expect([...seen].sort()).to.deep.equal([1, 2, 3]);
      expect(m('b/x')).to.deep.equal([]);
    });

    it('a shared delivery is separate from the same session\'s ordinary delivery', async () => {
      await r.subscribe(1, '$share/g/a', { qos: 2 });
      await r.subscribe(1, 'a', { qos: 0 });
      expect(m('a')).to.deep.equal([plain(1, 0), { ...plain(1, 2), shareGroup: 'g' }]);
    });

    it('groups are told apart by name and by filter', async () => {
      await r.subscribe(1, '$share/g/a/#', { qos: 0 });
      await r.subscribe(2, '$share/h/a/#', { qos: 0 });
      await r.subscribe(3, '$share/g/a/+', { qos: 0 });
      const ds = m('a/b');
      expect(ds.map((d) => [d.shareGroup, d.session])).to.deep.equal([['g', 1], ['g', 3], ['h', 2]]);
      expect(m('a').map((d) => [d.shareGroup, d.session])).to.deep.equal([['g', 1], ['h', 2]]);
    });

    it('re-subscribing replaces the options and reports isNew false', async () => {
      await r.subscribe(1, 'a/+', { qos: 0, subscriptionId: 1 });
      await r.subscribe(1, '$share/g/a/+', { qos: 0 });
      const again = await r.subscribe(1, 'a/+', { qos: 2, retainAsPublished: true, retainHandling: 2 });
      expect(again.isNew).to.equal(false);
      expect((await r.subscribe(1, '$share/g/a/+', { qos: 1, subscriptionId: 7 })).isNew).to.equal(false);
      expect(r.size).to.equal(2);
      expect(m('a/b')).to.deep.equal([plain(1, 2, [], true), { ...plain(1, 1, [7]), shareGroup: 'g' }]);
      const listed = r.subscriptionsOf(1).sort(byFilter);
      expect(listed).to.deep.equal([
        { filter: '$share/g/a/+', options: { qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: 7 } },
        { filter: 'a/+', options: { qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 2 } },
      ]);
    });

    it('a filter or group another session holds is new to this one, then not; overlaps still merge after unsubscribes', async () => {
      await r.subscribe(2, 'a/+', { qos: 0 });
      await r.subscribe(2, '$share/g/a/+', { qos: 0 });
      expect((await r.subscribe(1, 'a/+', { qos: 1 })).isNew).to.equal(true);
      expect((await r.subscribe(1, '$share/g/a/+', { qos: 1 })).isNew).to.equal(true);
      expect((await r.subscribe(1, 'a/+', { qos: 2 })).isNew).to.equal(false);
      expect((await r.subscribe(1, '$share/g/a/+', { qos: 2 })).isNew).to.equal(false);
      const outcomes = await r.subscribeAll(1, [
        { filter: 'a/#', options: { qos: 0, subscriptionId: 4 } },
        { filter: 'a/+', options: { qos: 1, subscriptionId: 5 } },
        { filter: '#', options: { qos: 0 } },
      ]);
      expect(outcomes).to.deep.equal([{ isNew: true }, { isNew: false }, { isNew: true }]);
      expect(r.size).to.equal(6);
      expect(m('a/b').filter((d) => d.session === 1 && d.shareGroup === undefined)).to.deep.equal([plain(1, 1, [4, 5])]);
      expect(await r.unsubscribe(1, 'a/#')).to.equal(true);
      expect(await r.unsubscribe(1, '#')).to.equal(true);
      // One ordinary subscription left: delivered on its own, with its own id.
      expect(m('a/b').filter((d) => d.session === 1 && d.shareGroup === undefined)).to.deep.equal([plain(1, 1, [5])]);
      expect((await r.subscribe(1, 'a/#', { qos: 2 })).isNew).to.equal(true);
      expect(m('a/b').filter((d) => d.session === 1 && d.shareGroup === undefined)).to.deep.equal([plain(1, 2, [5])]);
    });

    it('unsubscribe removes that one subscription and reports whether it existed', async () => {
      await r.subscribe(1, 'a/b', { qos: 1 });
      await r.subscribe(1, 'a/+', { qos: 0 });
      await r.subscribe(2, 'a/b', { qos: 0 });
      await r.subscribe(2, '$share/g/a/b', { qos: 0 });
      expect(await r.unsubscribe(1, 'a/b')).to.equal(true);
      expect(await r.unsubscribe(1, 'a/b')).to.equal(false);
      expect(await r.unsubscribe(3, 'a/b')).to.equal(false);
      expect(await r.unsubscribe(1, 'x/y/z')).to.equal(false);
      expect(await r.unsubscribe(1, 'a/#/b')).to.equal(false);
      expect(m('a/b').filter((d) => !d.shareGroup)).to.deep.equal([plain(1, 0), plain(2, 0)]);
      expect(await r.unsubscribe(2, '$share/g/a/b')).to.equal(true);
      expect(m('a/b')).to.deep.equal([plain(1, 0), plain(2, 0)]);
      expect(r.size).to.equal(2);
    });

    it('removeSession removes every subscription of that session only', async () => {
      await r.subscribe(1, 'a', { qos: 1 });
      await r.subscribe(1, 'b/#', { qos: 1 });
      await r.subscribe(1, '$share/g/a', { qos: 1 });
      await r.subscribe(2, 'a', { qos: 0 });
      expect(await r.removeSession(1)).to.equal(3);
      expect(await r.removeSession(1)).to.equal(0);
      expect(r.subscriptionsOf(1)).to.deep.equal([]);
      expect(m('a')).to.deep.equal([plain(2, 0)]);
      expect(m('b/c')).to.deep.equal([]);
      expect(r.size).to.equal(1);
    });

    it('subscriptionsOf lists the filters as sent, $share prefix included', async () => {
      await r.subscribe(4, '$share/grp/x/+/y', { qos: 1, subscriptionId: 12 });
      await r.subscribe(4, '/', { qos: 0, noLocal: true });
      const listed = r.subscriptionsOf(4).sort(byFilter);
      expect(listed.map((s) => s.filter)).to.deep.equal(['$share/grp/x/+/y', '/']);
      expect(listed[1]!.options.noLocal).to.equal(true);
      expect(r.subscriptionsOf(5)).to.deep.equal([]);
    });

    it('match resolves the same answer as tryMatch', async () => {
      await r.subscribe(1, 'a/#', { qos: 1, subscriptionId: 2 });
      expect(sorted(await r.match('a/b', 0))).to.deep.equal(m('a/b'));
    });

    const invalid: [string, string][] = [
      ['', 'MQTT-4.7.3-1'],
      ['a/#/b', 'MQTT-4.7.1-2'],
      ['a/b#', 'MQTT-4.7.1-2'],
      ['a/b+/c', 'MQTT-4.7.1-3'],
      ['a\u0000b', 'MQTT-4.7.3-2'],
      ['$share/g', 'MQTT-4.8.2-2'],
      ['$share//a', 'MQTT-4.8.2-1'],
      ['$share/g+/a', 'MQTT-4.8.2-2'],
      ['$share/g/a/#/b', 'MQTT-4.7.1-2'],
    ];
    for (const [filter, rule] of invalid) {
      it(`refuses ${JSON.stringify(filter)} with TopicError [${rule}] and changes nothing`, async () => {
        await r.subscribe(1, 'a/b', { qos: 1 });
        const before = snapshot(r, [1, 2], ['a/b', 'a', 'x']);
        const err = await r.subscribe(2, filter, { qos: 0 }).then(() => undefined, (e: unknown) => e);
        expect(err).to.be.instanceOf(TopicError);
        expect((err as TopicError).rule).to.equal(rule);
        expect(snapshot(r, [1, 2], ['a/b', 'a', 'x'])).to.deep.equal(before);
      });
    }

    it('refuses No Local on a shared subscription [MQTT-3.8.3-4] and changes nothing', async () => {
      const err = await r.subscribe(2, '$share/g/a', { qos: 0, noLocal: true }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(TopicError);
      expect((err as TopicError).rule).to.equal('MQTT-3.8.3-4');
      expect(r.size).to.equal(0);
    });

    it('refuses a filter deeper than maxFilterLevels with FilterTooDeepError and changes nothing', async () => {
      make({ maxFilterLevels: 4 });
      await r.subscribe(1, 'a/b/c/d', { qos: 0 });
      const err = await r.subscribe(1, 'a/b/c/d/e', { qos: 0 }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(FilterTooDeepError);
      expect(r.size).to.equal(1);
      expect(m('a/b/c/d/e')).to.deep.equal([]);
      expect(m('a/b/c/d')).to.deep.equal([plain(1, 0)]);
    });

    it('matches topics deeper than maxFilterLevels through #', async () => {
      make({ maxFilterLevels: 3 });
      await r.subscribe(1, 'a/b/#', { qos: 0 });
      await r.subscribe(2, '+/+/+', { qos: 0 });
      expect(m('a/b/c/d/e/f/g')).to.deep.equal([plain(1, 0)]);
      expect(m('a/b/c')).to.deep.equal([plain(1, 0), plain(2, 0)]);
    });

    it('refuses a subscription past maxSubscriptions with RegisterFullError and changes nothing', async () => {
      make({ maxSubscriptions: 3 });
      await r.subscribe(1, 'a', { qos: 0 });
      await r.subscribe(2, '$share/g/a', { qos: 0 });
      await r.subscribe(3, 'b/+', { qos: 0 });
      const before = snapshot(r, [1, 2, 3, 4], ['a', 'b/c', 'c/d/e']);
      const err = await r.subscribe(4, 'c/d/e', { qos: 1 }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(RegisterFullError);
      expect(await r.subscribe(4, '$share/h/a', { qos: 1 }).catch((e: unknown) => e)).to.be.instanceOf(RegisterFullError);
      expect(snapshot(r, [1, 2, 3, 4], ['a', 'b/c', 'c/d/e'])).to.deep.equal(before);
      // replacing an existing subscription needs no room
      expect((await r.subscribe(1, 'a', { qos: 2 })).isNew).to.equal(false);
      await r.unsubscribe(3, 'b/+');
      expect((await r.subscribe(4, 'c/d/e', { qos: 1 })).isNew).to.equal(true);
      expect(m('c/d/e')).to.deep.equal([plain(4, 1)]);
    });

    it('subscribeAll answers each filter in order as subscribe would, storing the ones that fit', async () => {
      make({ maxSubscriptions: 3 });
      await r.subscribe(1, 'x', { qos: 0 });
      const results = await r.subscribeAll(2, [
        { filter: 'a/+', options: { qos: 1 } },
        { filter: 'a/#/b', options: { qos: 0 } },
        { filter: 'x', options: { qos: 2 } },
        { filter: 'c', options: { qos: 0 } },
        { filter: 'a/+', options: { qos: 2 } },
      ]);
      expect(results[0]).to.deep.equal({ isNew: true });
      expect(results[1]).to.be.instanceOf(TopicError); // '#' not last [MQTT-4.7.1-2]
      expect(results[2]).to.deep.equal({ isNew: true });
      expect(results[3]).to.be.instanceOf(RegisterFullError); // a fourth subscription
      expect(results[4]).to.deep.equal({ isNew: false }); // replacing needs no room
      expect(r.size).to.equal(3);
      expect(r.subscriptionsOf(2).map((s) => s.filter).sort()).to.deep.equal(['a/+', 'x']);
      expect(m('a/b')).to.deep.equal([plain(2, 2)]);
      expect(m('c')).to.deep.equal([]);
      expect(await r.subscribeAll(3, [{ filter: '', options: { qos: 0 } }])).to.have.length(1);
      expect(await r.subscribeAll(0, [{ filter: 'a', options: { qos: 0 } }]).catch((e: unknown) => e)).to.be.instanceOf(RangeError);
    });

    it('refuses bad session ids and options with errors naming them', async () => {
      for (const s of [0, -1, 1.5, 2 ** 31]) {
        expect(await r.subscribe(s, 'a', { qos: 0 }).catch((e: unknown) => e)).to.be.instanceOf(RangeError);
      }
      expect(await r.subscribe(1, 'a', { qos: 3 as 0 }).catch((e: Error) => e.message)).to.match(/options\.qos/);
      expect(await r.subscribe(1, 'a', { qos: 0, subscriptionId: 0 }).catch((e: Error) => e.message)).to.match(/subscriptionId/);
      expect(r.size).to.equal(0);
    });
  });
}
