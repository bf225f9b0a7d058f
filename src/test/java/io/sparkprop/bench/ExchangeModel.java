package io.sparkprop.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.sparkprop.nn.NetworkSpec;

/**
 * The cost of a synchronous round's exchange, fitted to the trainer's rounds that {@code jobs/bench exchange}
 * measures on the namespace cluster, and its predictions for clusters this machine is not:
 *
 * <pre>  t_round = α + β·tasks + σ·stages + c·X + u·U + N / BW</pre>
 *
 * <ul>
 *   <li>{@code tasks}, {@code stages}: the round's Spark job. The driver's merge: one task a shard and {@code 1 + m}
 *       stages, {@code m} the merge stages of {@link io.sparkprop.exec.OrderedTreeAggregate}'s plan (none at the
 *       measured sizes); the sliced exchange: one map task a shard and one reduce task a slice, 2 stages.</li>
 *   <li>{@code X}: the megabytes on the round's CPU path. Every byte that crosses a link is serialised on one side
 *       and deserialised on the other, so a process's work is its link's bytes (received + sent): the driver's, plus
 *       the busiest worker's times the waves {@code ⌈n / cores⌉} in which the {@code n} executors share the
 *       machine's cores.</li>
 *   <li>{@code U}: the megabytes of parameters the round's update step takes on its CPU path: all {@code 8P} on the
 *       driver with the driver's merge; {@code 8P/S} a reduce task with the slices, in {@code ⌈S / cores⌉} waves
 *       here. The step (the rule, new arrays for {@code θ} and the state, the next broadcast or the copy of
 *       {@code θ} alone) moves no byte over a link.</li>
 *   <li>{@code N / BW}: the bytes of the busiest direction of any link over the round (interface counters),
 *       over the bandwidth of one link measured by a bulk transfer between two of the namespaces. Neither is
 *       fitted: this is the network term measured, where the older model ({@link ScalingModel}) assumed one.</li>
 * </ul>
 * α, β, σ, c, u are fitted (≥ 0, least squares on relative error) to both exchanges' points at once: one model,
 * the exchanges differing only in their tasks, stages and bytes.
 *
 * <p>Predicted for {@code E} executors of one task each, every one on its own cores (one wave), on links of
 * bandwidth {@code BW'}: {@code β} becomes the driver's cost per task {@code τ} (here {@code β} also holds the
 * executors sharing two cores); the bytes, in units of 8P, come from the exchanges' own accounting. The
 * driver's merge: the driver receives its {@code k} partials (after {@code m} merge stages, each merge task
 * fetching two), and sends {@code b} copies of the torrent broadcast: one a doubling step, {@code ⌈log₂(E+1)⌉},
 * of its first 4 MiB and one of the rest; a worker receives {@code θ} and sends its partial, a merge task two
 * partials in and one out ({@code X = k + b + 2 + 3m}, {@code N = max(k, b, 2m)}). The sliced exchange with
 * {@code S} slices (at least 4,096 values each) and {@code a} state arrays: a worker that reduces a slice
 * receives it from the {@code E − 1} other map tasks, the other slices of {@code θ} and a replica (none with one
 * executor), {@code (E−1)/S + (S−1)/S + (1+a)/S}, and sends {@code (S−1)/S + (E−1)/S + (1+a)/S + 1/S} (its
 * gradient's other slices, its slice of {@code θ} to the others and to the driver, the replica); the driver
 * receives {@code θ} once. No latency is added: the
 * namespace links have none to measure ({@code netem} missing), and the stages' own are in {@code σ}.
 */
final class ExchangeModel {
    private static final String[] TERMS = {"alpha (ms)", "beta (ms/task)", "sigma (ms/stage)",
        "c (ms/MB on the CPU path)", "u (ms/MB of parameters updated)"};

    /** A measured round: the exchange, its size, its time and bytes (received + sent; busiest direction). */
    record Round(String exchange, int workers, long parameters, double ms, double driverBytes, double workerBytes,
                 double busiestDirectionBytes) {
    }

    private final double[] c;
    private final int cores;
    private final int stateArrays;

    private ExchangeModel(double[] c, int cores, int stateArrays) {
        this.c = c;
        this.cores = cores;
        this.stateArrays = stateArrays;
    }

    /** The trainer asks for a slice a shard. */
    private static int slices(int shards, long parameters) {
        return io.sparkprop.exec.SlicedExchange.sliceCount(parameters, shards);
    }

    private static boolean sliced(String exchange) {
        return exchange.equals("sliced");
    }

    /** {@code {tasks, stages}} of a round of {@code shards} shards. */
    private static int[] job(String exchange, int shards, long parameters) {
        if (sliced(exchange)) {
            return new int[] {shards + slices(shards, parameters), 2};
        }
        return new int[] {shards, 1 + ScalingModel.merge(shards, 8.0 * parameters)[1]};
    }

    /** {@code U}: MB of parameters on the update's CPU path, reduce tasks in waves over {@code cores}. */
    private static double updated(String exchange, int shards, long parameters, int cores) {
        double mb = 8.0 * parameters / 1e6;
        if (!sliced(exchange)) {
            return mb;
        }
        int s = slices(shards, parameters);
        return mb * Math.ceil((double) s / cores) / s;
    }

    private double[] features(Round r) {
        int[] job = job(r.exchange(), r.workers(), r.parameters());
        int waves = (r.workers() + cores - 1) / cores;
        double cpuMb = (r.driverBytes() + r.workerBytes() * waves) / 1e6;
        return new double[] {1, job[0], job[1], cpuMb, updated(r.exchange(), r.workers(), r.parameters(), cores)};
    }

    private static double network(Round r, double bandwidth) {
        return r.busiestDirectionBytes() / bandwidth;
    }

    /**
     * Fits the model to {@code rounds}.
     *
     * @param bandwidth the measured bandwidth of one link, bytes a ms
     * @param cores     the cores the measured cluster's processes share
     */
    static ExchangeModel fit(List<Round> rounds, double bandwidth, int cores, int stateArrays) {
        ExchangeModel shape = new ExchangeModel(new double[TERMS.length], cores, stateArrays);
        double[][] f = new double[rounds.size()][];
        double[] rest = new double[rounds.size()];
        double[] weights = new double[rounds.size()];
        for (int i = 0; i < rounds.size(); i++) {
            f[i] = shape.features(rounds.get(i));
            // the fitted terms explain what the measured network term leaves; the error is relative to the round
            rest[i] = rounds.get(i).ms() - network(rounds.get(i), bandwidth);
            weights[i] = 1 / rounds.get(i).ms();
        }
        return new ExchangeModel(ScalingModel.nonNegativeFit(f, rest, weights), cores, stateArrays);
    }

    double round(Round r, double bandwidth) {
        double[] f = features(r);
        double t = network(r, bandwidth);
        for (int i = 0; i < f.length; i++) {
            t += c[i] * f[i];
        }
        return t;
    }

    /**
     * The bytes of a round by the exchange's own accounting, in units of 8P: {@code {driver (received + sent),
     * busiest worker (received + sent), busiest direction of any link}}.
     */
    double[] accountedBytes(String exchange, int executors, long parameters) {
        if (sliced(exchange)) {
            double s = slices(executors, parameters);
            double e = executors;
            double replica = e > 1 ? (1.0 + stateArrays) / s : 0; // to another executor: none with one
            double in = (e - 1) / s + (s - 1) / s + replica;
            double out = (s - 1) / s + (e - 1) / s + replica + 1 / s;
            return new double[] {1, in + out, Math.max(1, Math.max(in, out))};
        }
        double bytes = 8.0 * parameters;
        int[] merge = ScalingModel.merge(executors, bytes);
        int steps = ScalingModel.broadcastSteps(executors);
        double piece = Math.min(1, ScalingModel.PIECE / bytes);
        double broadcast = Math.min(executors, steps) * piece + (1 - piece);
        return new double[] {merge[0] + broadcast, 2 + 3.0 * merge[1],
            Math.max(Math.max(merge[0], broadcast), 2.0 * merge[1])};
    }

    /** A round's predicted time on {@code executors} executors with their own cores, links of {@code bandwidth}. */
    double predicted(String exchange, int executors, long parameters, double bandwidth, double tau) {
        double[] b = accountedBytes(exchange, executors, parameters);
        double p8 = 8.0 * parameters;
        int[] job = job(exchange, executors, parameters);
        // every reduce task on its own cores: one wave
        return c[0] + tau * job[0] + c[2] * job[1] + c[3] * (b[0] + b[1]) * p8 / 1e6
                + c[4] * updated(exchange, executors, parameters, Integer.MAX_VALUE) + b[2] * p8 / bandwidth;
    }

    /**
     * Prints the fit, its error on every round, the accounting's bytes beside the measured ones, and the predictions;
     * returns the largest relative error, or NaN (and says why) when there are fewer rounds than terms to fit.
     */
    static double report(List<Round> rounds, double bandwidth, int cores, int stateArrays, NetworkSpec... specs) {
        if (rounds.size() < TERMS.length) {
            System.out.printf(Locale.ROOT, "%nmodel: not fitted: %d trainer rounds measured for %d terms (measure more "
                    + "worker counts, e.g. --workers 1,2,4)%n", rounds.size(), TERMS.length);
            return Double.NaN;
        }
        ExchangeModel m = fit(rounds, bandwidth, cores, stateArrays);
        System.out.println();
        System.out.printf(Locale.ROOT, "model: t = alpha + beta*tasks + sigma*stages + c*X + u*U + N/BW (BW measured: "
                + "%.1f MB/s a link and direction; N: the busiest direction's bytes; X: the CPU path's MB, %d cores "
                + "shared; U: MB of parameters updated on the CPU path)%n",
                bandwidth * 1e3 / 1e6, cores);
        for (int i = 0; i < TERMS.length; i++) {
            System.out.printf(Locale.ROOT, "  %-28s %9.3f%n", TERMS[i], m.c[i]);
        }
        System.out.printf(Locale.ROOT, "  %-8s %7s %9s %10s %9s %7s   %s%n", "exchange", "workers", "P", "measured",
                "model", "error", "bytes / 8P measured (accounted): driver, worker, busiest direction");
        double worst = 0;
        for (Round r : rounds) {
            double model = m.round(r, bandwidth);
            double error = (model - r.ms()) / r.ms();
            worst = Math.max(worst, Math.abs(error));
            double p8 = 8.0 * r.parameters();
            double[] a = m.accountedBytes(r.exchange(), r.workers(), r.parameters());
            System.out.printf(Locale.ROOT, "  %-8s %7d %9d %10.1f %9.1f %6.0f%%   %.2f (%.2f), %.2f (%.2f), "
                    + "%.2f (%.2f)%n", r.exchange(), r.workers(), r.parameters(), r.ms(), model, 100 * error,
                    r.driverBytes() / p8, a[0], r.workerBytes() / p8, a[1], r.busiestDirectionBytes() / p8, a[2]);
        }
        System.out.printf(Locale.ROOT, "  largest relative error %.0f%%%n", 100 * worst);
        for (double gbit : new double[] {10, 1}) {
            double bw = gbit * 1e9 / 8 / 1e3;
            System.out.println();
            System.out.printf(Locale.ROOT, "predicted round (ms), no compute: %.0f Gbit/s links, every executor on its "
                    + "own cores, the driver's %.2f ms a task (1,500 tasks/s, Sparrow 2013); driver's merge / sliced%n",
                    gbit, ScalingModel.LITERATURE_TAU);
            System.out.printf(Locale.ROOT, "  %-12s %16s %16s %16s%n", "P", "8 executors", "64", "512");
            for (NetworkSpec spec : specs) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-12d", spec.parameterCount()));
                for (int e : new int[] {8, 64, 512}) {
                    line.append(String.format(Locale.ROOT, " %7.0f / %6.0f",
                            m.predicted("driver", e, spec.parameterCount(), bw, ScalingModel.LITERATURE_TAU),
                            m.predicted("sliced", e, spec.parameterCount(), bw, ScalingModel.LITERATURE_TAU)));
                }
                System.out.println(line);
            }
        }
        return worst;
    }

    /** The trainer's rounds of {@code points}, as the model reads them. */
    static List<Round> rounds(List<ExchangeBenchMain.Point> points) {
        List<Round> rounds = new ArrayList<>();
        for (ExchangeBenchMain.Point p : points) {
            if (p.path().startsWith("trainer-")) {
                rounds.add(new Round(p.path().substring("trainer-".length()), p.workers(), p.parameters(), p.roundMs(),
                        p.driverBytes(), p.workerBytesMax(), Math.max(p.driverDirection(), p.workerDirectionMax())));
            }
        }
        return rounds;
    }
}
