import { expect } from 'chai';
import {
  TopicError, validateTopicName, validateTopicFilter, parseSubscriptionFilter, topicMatches, utf8Length,
} from '../../src/register/topic.js';

function ruleOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof TopicError) return err.rule;
    throw err;
  }
  return undefined;
}

describe('topic names and filters', () => {
  it('refuses empty names and filters [MQTT-4.7.3-1]', () => {
    expect(ruleOf(() => validateTopicName(''))).to.equal('MQTT-4.7.3-1');
    expect(ruleOf(() => validateTopicFilter(''))).to.equal('MQTT-4.7.3-1');
  });

  it('refuses U+0000 [MQTT-4.7.3-2]', () => {
    expect(ruleOf(() => validateTopicName('a\u0000b'))).to.equal('MQTT-4.7.3-2');
  });

  it('refuses more than 65535 UTF-8 bytes, counted as bytes not characters [MQTT-4.7.3-3]', () => {
    expect(ruleOf(() => validateTopicName('é'.repeat(32768)))).to.equal('MQTT-4.7.3-3');
    expect(ruleOf(() => validateTopicName('é'.repeat(32767)))).to.equal(undefined);
    expect(utf8Length('a€😀')).to.equal(1 + 3 + 4);
    // Three bytes a character: the shortest strings (in UTF-16 units) that can pass the limit.
    expect(ruleOf(() => validateTopicName('€'.repeat(21846)))).to.equal('MQTT-4.7.3-3');
    expect(ruleOf(() => validateTopicName('€'.repeat(21845)))).to.equal(undefined);
  });

  it('checks every filter of up to 5 characters over a, /, + and # as a level-by-level split does [MQTT-4.7.1-2, MQTT-4.7.1-3]', () => {
    const bySplit = (filter: string): string | undefined => {
      const levels = filter.split('/');
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i]!;
        if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return 'MQTT-4.7.1-2';
        if (level.includes('+') && level !== '+') return 'MQTT-4.7.1-3';
      }
      return undefined;
    };
    let filters = [''];
    let checked = 0;
    for (let length = 1; length <= 5; length++) {
      filters = filters.flatMap((f) => ['a', '/', '+', '#'].map((c) => f + c));
      for (const filter of filters) {
        expect(ruleOf(() => validateTopicFilter(filter)), filter).to.equal(bySplit(filter));
        checked++;
      }
    }
    expect(checked).to.equal(4 + 16 + 64 + 256 + 1024);
  });

  it('refuses wildcards in a topic name [MQTT-4.7.1-1 in 3.1.1, MQTT-4.7.0-1 in 5.0]', () => {
    expect(() => validateTopicName('a/+')).to.throw(TopicError).with.property('rule5', 'MQTT-4.7.0-1');
    expect(ruleOf(() => validateTopicName('a/+'))).to.equal('MQTT-4.7.1-1');
    expect(ruleOf(() => validateTopicName('a/#'))).to.equal('MQTT-4.7.1-1');
  });

  it("accepts '#' only as the whole last level [MQTT-4.7.1-2]", () => {
    for (const ok of ['#', 'a/#', '/#', '+/#']) expect(ruleOf(() => validateTopicFilter(ok)), ok).to.equal(undefined);
    for (const bad of ['a#', 'a/#/b', '#/a', 'a/b#']) expect(ruleOf(() => validateTopicFilter(bad)), bad).to.equal('MQTT-4.7.1-2');
  });

  it("accepts '+' only as a whole level [MQTT-4.7.1-3]", () => {
    for (const ok of ['+', '+/+', 'a/+/b', '/+/']) expect(ruleOf(() => validateTopicFilter(ok)), ok).to.equal(undefined);
    for (const bad of ['a+', 'a/+b', '++']) expect(ruleOf(() => validateTopicFilter(bad)), bad).to.equal('MQTT-4.7.1-3');
  });

  it('splits $share/{group}/{filter} and validates both parts [MQTT-4.8.2-1, MQTT-4.8.2-2]', () => {
    expect(parseSubscriptionFilter('$share/g1/a/+')).to.deep.equal({ filter: 'a/+', group: 'g1' });
    expect(parseSubscriptionFilter('a/b')).to.deep.equal({ filter: 'a/b', group: undefined });
    expect(ruleOf(() => parseSubscriptionFilter('$share//a'))).to.equal('MQTT-4.8.2-1');
    expect(ruleOf(() => parseSubscriptionFilter('$share/g+/a'))).to.equal('MQTT-4.8.2-2');
    expect(ruleOf(() => parseSubscriptionFilter('$share/g'))).to.equal('MQTT-4.8.2-2');
    expect(ruleOf(() => parseSubscriptionFilter('$share/g/'))).to.equal('MQTT-4.8.2-2');
    expect(ruleOf(() => parseSubscriptionFilter('$share/g/a#'))).to.equal('MQTT-4.7.1-2');
  });

  it('matches + and # by whole levels, # also matching the parent [MQTT-4.7.1-2]', () => {
    expect(topicMatches('a/+', 'a/b')).to.equal(true);
    expect(topicMatches('a/+', 'a/b/c')).to.equal(false);
    expect(topicMatches('a/+', 'a/')).to.equal(true);
    expect(topicMatches('a/#', 'a')).to.equal(true);
    expect(topicMatches('a/#', 'a/b/c')).to.equal(true);
    expect(topicMatches('#', 'a/b')).to.equal(true);
    expect(topicMatches('+/+', '/a')).to.equal(true);
    expect(topicMatches('a/b', 'a/b/')).to.equal(false);
  });

  it('does not match $ topics with a filter that starts with a wildcard [MQTT-4.7.2-1]', () => {
    expect(topicMatches('#', '$SYS/load')).to.equal(false);
    expect(topicMatches('+/load', '$SYS/load')).to.equal(false);
    expect(topicMatches('$SYS/#', '$SYS/load')).to.equal(true);
  });
});
