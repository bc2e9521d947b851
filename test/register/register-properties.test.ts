/**
 * Seeded property tests: random sequences of subscribe / unsubscribe / removeSession, then
 * random topics, on both registers, compared with a naive model built on `topicMatches`.
 * Filters and topics are drawn from levels that exercise wildcards, `$` topics, empty and
 * unicode levels and shared groups; some drawn filters are invalid and must change nothing.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ReferenceRegister } from '../../src/register/reference-register.js';
import { SharedRegister } from '../../src/register/shared-register.js';
import { parseSubscriptionFilter, topicMatches, TopicError } from '../../src/register/topic.js';
import type { Delivery, QoS, SubscriptionOptions, SubscriptionRegister } from '../../src/register/types.js';

interface ModelSub {
  session: number;
  raw: string;
  filter: string;
  group: string | undefined;
  options: SubscriptionOptions;
}

type Op =
  | { kind: 'sub'; session: number; raw: string; options: SubscriptionOptions }
  | { kind: 'unsub'; session: number; raw: string }
  | { kind: 'remove'; session: number };

const filterLevel = fc.constantFrom('a', 'b', '', 'ü', '🙂', '$x', '+', '#', 'a+');
const topicLevel = fc.constantFrom('a', 'b', '', 'ü', '🙂', '$x');
const rawFilter = fc
  .tuple(fc.constantFrom('', '', '', '$share/g/', '$share/h/'), fc.array(filterLevel, { minLength: 1, maxLength: 4 }))
  .map(([prefix, levels]) => prefix + levels.join('/'));
const topic = fc.array(topicLevel, { minLength: 1, maxLength: 5 }).map((l) => l.join('/')).filter((t) => t.length > 0);
const options: fc.Arbitrary<SubscriptionOptions> = fc.record(
  {
    qos: fc.constantFrom<QoS>(0, 1, 2),
    noLocal: fc.boolean(),
    retainAsPublished: fc.boolean(),
    subscriptionId: fc.integer({ min: 1, max: 5 }),
  },
  { requiredKeys: ['qos'] },
);
const session = fc.integer({ min: 1, max: 5 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('sub' as const), session, raw: rawFilter, options }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unsub' as const), session, raw: rawFilter }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), session }) },
);

/** The naive model: a list of subscriptions. */
class Model {
  subs: ModelSub[] = [];

  apply(o: Op): unknown {
    if (o.kind === 'remove') {
      const before = this.subs.length;
      this.subs = this.subs.filter((s) => s.session !== o.session);
      return before - this.subs.length;
    }
    const at = this.subs.findIndex((s) => s.session === o.session && s.raw === o.raw);
    if (o.kind === 'unsub') {
      if (at < 0) return false;
      this.subs.splice(at, 1);
      return true;
    }
    let parsed;
    try {
      parsed = parseSubscriptionFilter(o.raw);
    } catch (e) {
      return (e as TopicError).rule;
    }
    if (parsed.group !== undefined && o.options.noLocal === true) return 'MQTT-3.8.3-4';
    if (at >= 0) {
      this.subs[at]!.options = o.options;
      return { isNew: false };
    }
    this.subs.push({ session: o.session, raw: o.raw, filter: parsed.filter, group: parsed.group, options: o.options });
    return { isNew: true };
  }

  ordinary(t: string, publisher: number): Delivery[] {
    const by = new Map<number, { qos: QoS; rap: boolean; ids: number[] }>();
    for (const s of this.subs) {
      if (s.group !== undefined || !topicMatches(s.filter, t)) continue;
      if (s.options.noLocal === true && s.session === publisher) continue;
      const acc = by.get(s.session) ?? { qos: 0 as QoS, rap: false, ids: [] as number[] };
      acc.qos = Math.max(acc.qos, s.options.qos) as QoS;
      acc.rap ||= s.options.retainAsPublished === true;
      // One id per matching subscription that has one, repeats included [MQTT-3.3.4-4].
      if (s.options.subscriptionId !== undefined) acc.ids.push(s.options.subscriptionId);
      by.set(s.session, acc);
    }
    return [...by]
      .map(([session, a]) => ({ session, qos: a.qos, retainAsPublished: a.rap, subscriptionIds: a.ids.sort((x, y) => x - y) }))
      .sort((a, b) => a.session - b.session);
  }

  /** Matching groups as `group filter` → members. */
  groups(t: string): Map<string, ModelSub[]> {
    const out = new Map<string, ModelSub[]>();
    for (const s of this.subs) {
      if (s.group === undefined || !topicMatches(s.filter, t)) continue;
      const key = `${s.group} ${s.filter}`;
      out.set(key, [...(out.get(key) ?? []), s]);
    }
    return out;
  }
}

async function applyTo(r: SubscriptionRegister, o: Op): Promise<unknown> {
  try {
    if (o.kind === 'sub') return await r.subscribe(o.session, o.raw, o.options);
    if (o.kind === 'unsub') return await r.unsubscribe(o.session, o.raw);
    return await r.removeSession(o.session);
  } catch (e) {
    if (e instanceof TopicError) return e.rule;
    throw e;
  }
}

function checkAnswer(model: Model, answer: readonly Delivery[], t: string, publisher: number): void {
  const ordinary = answer
    .filter((d) => d.shareGroup === undefined)
    .map((d) => ({ ...d, subscriptionIds: [...d.subscriptionIds] }))
    .sort((a, b) => a.session - b.session);
  expect(ordinary, `ordinary deliveries for ${JSON.stringify(t)}`).to.deep.equal(model.ordinary(t, publisher));
  const shared = answer.filter((d) => d.shareGroup !== undefined);
  const groups = model.groups(t);
  expect(shared.length, `one delivery per matching group for ${JSON.stringify(t)}`).to.equal(groups.size);
  const unclaimed = new Map(groups);
  for (const d of shared) {
    const key = [...unclaimed.keys()].find((k) => {
      const members = unclaimed.get(k)!;
      return members[0]!.group === d.shareGroup && members.some((m) => m.session === d.session);
    });
    expect(key, `shared delivery ${JSON.stringify(d)} belongs to a matching group`).to.not.equal(undefined);
    const member = unclaimed.get(key!)!.find((m) => m.session === d.session)!;
    const id = member.options.subscriptionId;
    expect(d.qos).to.equal(member.options.qos);
    expect([...d.subscriptionIds]).to.deep.equal(id === undefined ? [] : [id]);
    expect(d.retainAsPublished).to.equal(member.options.retainAsPublished === true);
    unclaimed.delete(key!);
  }
}

function property(make: () => SubscriptionRegister, after?: (r: SubscriptionRegister) => void): fc.IAsyncProperty<[Op[], string[], number]> {
  return fc.asyncProperty(
    fc.array(op, { minLength: 1, maxLength: 40, size: 'max' }),
    fc.array(topic, { minLength: 1, maxLength: 8 }),
    fc.integer({ min: 0, max: 5 }),
    async (ops, topics, publisher) => {
      const r = make();
      const model = new Model();
      for (const o of ops) {
        const expected = model.apply(o);
        expect(await applyTo(r, o), JSON.stringify(o)).to.deep.equal(expected);
        expect(r.size).to.equal(model.subs.length);
      }
      for (const t of topics) {
        checkAnswer(model, r.tryMatch(t, publisher)!, t, publisher);
        checkAnswer(model, await r.match(t, publisher), t, publisher);
      }
      for (let s = 1; s <= 5; s++) {
        const listed = r.subscriptionsOf(s).map((x) => x.filter).sort();
        expect(listed).to.deep.equal(model.subs.filter((x) => x.session === s).map((x) => x.raw).sort());
      }
      after?.(r);
    },
  );
}

describe('register properties (seeded, against a naive topicMatches model)', () => {
  it('ReferenceRegister answers like the model', async () => {
    await fc.assert(property(() => new ReferenceRegister()), { seed: 20261122, numRuns: 150 });
  });

  it('SharedRegister answers like the model and stays consistent', async () => {
    await fc.assert(
      property(
        () => SharedRegister.create({ initialBytes: 256 * 1024, maxBytes: 1 << 20 }),
        (r) => expect((r as SharedRegister).checkIntegrityForTest()).to.deep.equal([]),
      ),
      { seed: 20261122, numRuns: 300 },
    );
  });

  it('SharedRegister matches like topicMatches on many filters at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(rawFilter, { minLength: 1, maxLength: 60 }), fc.array(topic, { minLength: 1, maxLength: 20 }), async (raws, topics) => {
        const r = SharedRegister.create({ initialBytes: 256 * 1024, maxBytes: 1 << 20 });
        const model = new Model();
        for (let i = 0; i < raws.length; i++) {
          const o: Op = { kind: 'sub', session: 1 + (i % 7), raw: raws[i]!, options: { qos: (i % 3) as QoS, subscriptionId: i + 1 } };
          expect(await applyTo(r, o)).to.deep.equal(model.apply(o));
        }
        for (const t of topics) checkAnswer(model, r.tryMatch(t, 0)!, t, 0);
      }),
      { seed: 7, numRuns: 150 },
    );
  });

  it('SharedRegister keeps answering like the model while writes change crowded filters (thread-local reuse)', async () => {
    const crowdedOp: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('sub' as const),
          session: fc.integer({ min: 1, max: 24 }),
          raw: fc.constantFrom('a', 'a', 'a/+', '#', 'a/b', '$share/g/a/+'),
          options: fc.oneof(
            { weight: 4, arbitrary: fc.record({ qos: fc.constantFrom<QoS>(0, 1, 2), subscriptionId: fc.integer({ min: 1, max: 5 }) }, { requiredKeys: ['qos'] }) },
            { weight: 1, arbitrary: options },
          ),
        }),
      },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('unsub' as const), session: fc.integer({ min: 1, max: 24 }), raw: fc.constantFrom('a', 'a/+', '#', 'a/b') }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), session: fc.integer({ min: 1, max: 24 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(crowdedOp, { minLength: 30, maxLength: 120, size: 'max' }), async (ops) => {
        const r = SharedRegister.create({ initialBytes: 256 * 1024, maxBytes: 1 << 20, resultCacheSize: 8 });
        const model = new Model();
        for (const o of ops) {
          expect(await applyTo(r, o)).to.deep.equal(model.apply(o));
          for (const t of ['a', 'a/b', 'a/c']) for (const p of [0, 3]) checkAnswer(model, r.tryMatch(t, p)!, t, p);
        }
        expect(r.checkIntegrityForTest()).to.deep.equal([]);
      }),
      { seed: 99, numRuns: 60 },
    );
  });
});
