import { expect } from 'chai';
import { GenClient } from '../../bench/lib/gen-client.js';
import { assertLoopback } from '../../bench/lib/loopback.js';
import { formatFigure, formatRatio } from '../../bench/lib/report.js';
import { median, percentile } from '../../bench/lib/stats.js';
import { summarize, type ResultsFile, type RunRecord } from '../../bench/lib/summary.js';
import { SeqTracker } from '../../bench/lib/tracker.js';

describe('bench: harness pieces', () => {
  describe('loopback guard', () => {
    it('accepts 127.0.0.1, ::1 and localhost', () => {
      for (const host of ['127.0.0.1', '::1', 'localhost']) expect(() => assertLoopback(host)).not.to.throw();
    });

    it('refuses any other host', () => {
      for (const host of ['10.0.0.1', '192.168.1.1', 'example.com', '0.0.0.0', '127.0.0.2']) {
        expect(() => assertLoopback(host), host).to.throw(/refusing/);
      }
    });

    it('makes the generator client refuse before opening a socket', async () => {
      let error: Error | undefined;
      try {
        await GenClient.connect({ host: '192.168.0.1', port: 1883, clientId: 'x' });
      } catch (err) {
        error = err as Error;
      }
      expect(error?.message).to.match(/refusing to load host/);
    });
  });

  describe('sequence tracker', () => {
    it('counts unique deliveries, duplicates and how far each publisher has got', () => {
      const t = new SeqTracker(2);
      for (const [publisher, seq] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [0, 1],
        [0, 4],
        [1, 0],
      ] as const) {
        t.record(publisher, seq);
      }
      expect({ received: t.received, unique: t.unique, duplicates: t.duplicates }).to.deep.equal({ received: 6, unique: 4, duplicates: 2 });
      // A gap (2 and 3 lost) still moves the publisher on, so a credit window never stalls on loss.
      expect([t.reached(0), t.reached(1)]).to.deep.equal([5, 1]);
    });

    it('counts deliveries from unknown publishers apart', () => {
      const t = new SeqTracker(1);
      t.record(-1, -1);
      t.record(3, 0);
      expect([t.foreign, t.unique]).to.deep.equal([2, 0]);
    });
  });

  describe('statistics and formatting', () => {
    it('takes nearest-rank percentiles', () => {
      const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
      expect([percentile(sorted, 0.5), percentile(sorted, 0.99), percentile(sorted, 1)]).to.deep.equal([50, 99, 100]);
      expect(percentile([], 0.5)).to.be.NaN;
    });

    it('takes the median of the finite values', () => {
      expect(median([3, 1, 2])).to.equal(2);
      expect(median([4, 1, NaN, 3, 2])).to.equal(2.5);
      expect(median([NaN])).to.be.NaN;
    });

    it('prints figures in their units and a dash for a missing one', () => {
      expect(formatFigure(123_456.7, 'rate')).to.equal('123,457');
      expect(formatFigure(0.0123, 'percent')).to.equal('1.23%');
      expect(formatFigure(0, 'percent')).to.equal('0%');
      expect(formatFigure(2.345, 'us')).to.equal('2.35');
      expect(formatFigure(NaN, 'us')).to.equal('–');
    });

    it('gives no ratio against a figure that prints as zero', () => {
      expect(formatRatio(8.1, 2, 'kib')).to.equal('4.05×');
      expect(formatRatio(8.1, 0.002, 'kib')).to.equal('–');
      expect(formatRatio(0, 0.0008, 'percent')).to.equal('0.00×');
      expect(formatRatio(1, NaN, 'us')).to.equal('–');
    });
  });

  describe('report', () => {
    /** A saved run of the connections scenario with `rssKiBPerConnIdle` per broker. */
    function connectionsRun(idle: Record<'weft' | 'aedes' | 'mosquitto', number>, idleSettleS?: number): ResultsFile {
      const runs: RunRecord[] = Object.entries(idle).map(([broker, rssKiBPerConnIdle]) => ({
        scenario: 'connections',
        broker: broker as RunRecord['broker'],
        repeat: 0,
        figures: { rssKiBPerConn: 9, rssKiBPerConnIdle },
        details: {},
      }));
      const settings = { durationS: 5, warmupS: 1, quick: false, payloadBytes: 32, repeat: 1, scenarios: ['connections'], brokers: ['weft', 'aedes', 'mosquitto'] as RunRecord['broker'][], threads: [] };
      return {
        startedAt: '2026-12-02T08:00:00.000Z',
        finishedAt: '2026-12-02T08:02:00.000Z',
        machine: { cpuModel: 'test', cpus: 2, memoryGiB: 1, node: 'v20', kernel: '6', loadAverageAtStart: [0, 0, 0], loadAverageAtEnd: [0, 0, 0] },
        cpuPlan: { cpus: 2, broker: '0', generator: '1', note: null },
        // Results saved before the idle settle existed have no idleSettleS.
        settings: (idleSettleS === undefined ? settings : { ...settings, idleSettleS }) as ResultsFile['settings'],
        versions: {},
        unavailable: {},
        runs,
      };
    }

    it('prints the connections idle-memory row with its ratios, and the settle in the title', () => {
      const report = summarize(connectionsRun({ weft: 6, aedes: 30, mosquitto: 1.5 }, 20));
      expect(report).to.include('| broker RSS KiB/connection, idle | lower | 6.0 | 30.0 | 1.5 | 0.20× | 4.00× |');
      expect(report).to.include('connections: 2,000 clients with one subscription each; idle: after 20 s idle, on another fresh broker |');
    });

    it('leaves the settle out of the title of a run saved before it existed', () => {
      const report = summarize(connectionsRun({ weft: 6, aedes: 30, mosquitto: 1.5 }));
      expect(report).to.include('| connections: 2,000 clients with one subscription each | set-up time s |');
    });
  });
});
