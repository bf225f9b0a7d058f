package io.sparkprop.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.nn.NetworkSpec;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * The scaling model of one round, fitted to the measured fixed costs and used to predict clusters this
 * machine does not have:
 *
 * <pre>  t_round(P, S, k, B) = compute + fixed
 *   compute = k · (B/S) / r                                               (r: one core's kernel examples/s)
 *   fixed   = α + β·w + 8P·(c_b + c_w·w + c_d·n) + m·(γ + c_m·8P)       (w = ⌈S/cores⌉ waves of tasks)</pre>
 *
 * where {@code n} partial results reach the driver after {@code m} merge stages on the executors (the
 * trainer's plan, {@link OrderedTreeAggregate#plan}: none for a handful of small partials). α is the job's
 * latency (scheduling, stage creation, the driver's wait for results), β the latency of one wave of tasks
 * (on this machine it holds the driver's cost per task too), c_b the cost per byte of the broadcast
 * (serialise, store, fetch), c_w the per-byte cost inside a wave (read the broadcast, serialise the result),
 * c_d the driver's per-byte cost of a partial it takes (fetch, deserialise, add), γ and c_m a merge stage's
 * latency and per-byte cost. Fitted by least squares on relative error, coefficients held at ≥ 0.
 *
 * <p>For {@code E} executors of one task each on a network of bandwidth {@code BW} and latency {@code L}
 * the fitted CPU terms stay, the driver pays {@code τ} per task (measured apart: the marginal cost of a
 * task in a job of many empty tasks, an upper bound here, where the driver shares the cores with the
 * tasks; and, for comparison, the 1,500 tasks/s the Sparrow authors measured of Spark's scheduler), and the
 * transfers become network terms: the torrent broadcast doubles its copies every step,
 * {@code ⌈log₂(E+1)⌉·(L + min(8P, 4 MiB)/BW) + max(0, 8P − 4 MiB)/BW}; a merge stage adds
 * {@code L + 2·8P/BW} (a task fetches two partials); the driver receives its partials through one link,
 * {@code n·8P/BW}.
 */
final class ScalingModel {
    private static final String[] TERMS = {"alpha (ms)", "beta (ms/wave)", "c_b (ms/MB)", "c_w (ms/MB/wave)",
        "c_d (ms/MB/partial at the driver)", "gamma (ms/merge stage)", "c_m (ms/MB/merge stage)"};
    /** What Spark's scheduler sustains, as its authors measured it: 1,500 tasks/s (Ousterhout et al., Sparrow, 2013). */
    static final double LITERATURE_TAU = 1.0 / 1.5;
    /** Bandwidth of the predicted network, bytes per ms (10 Gbit/s). */
    private static final double BANDWIDTH = 10e9 / 8 / 1e3;
    /** Latency of the predicted network, ms. */
    private static final double LATENCY = 1.0;
    /** A torrent broadcast's piece: 4 MiB, Spark's spark.broadcast.blockSize. */
    static final double PIECE = 4 << 20;
    /** The driver budget of the merge plan: min(heap 8 GB, spark.driver.maxResultSize 1 GB) / 4. */
    private static final double DRIVER_BUDGET = 1e9 / 4;
    private static final int EXAMPLES = 60_000;
    private static final int BATCH = 512;

    private final double[] c;

    private ScalingModel(double[] c) {
        this.c = c;
    }

    private static double[] features(RoundCost.Point p) {
        int waves = (p.shards() + p.parallelism() - 1) / p.parallelism();
        double mb = 8.0 * p.parameters() / 1e6;
        int[] merge = merge(p.shards(), 8.0 * p.parameters());
        return new double[] {1, waves, mb, mb * waves, mb * merge[0], merge[1], mb * merge[1]};
    }

    /**
     * {partials the driver collects, merge stages on the executors} of the trainer's plan
     * ({@link OrderedTreeAggregate#plan}, depth 2, a driver budget of {@link #DRIVER_BUDGET}).
     */
    static int[] merge(int partials, double bytes) {
        int atDriver;
        if (partials * bytes <= Math.min(DRIVER_BUDGET, OrderedTreeAggregate.DIRECT_MERGE_BYTES)) {
            atDriver = partials;
        } else {
            atDriver = OrderedTreeAggregate.finalLevelSize(partials, 2);
            if (atDriver > 1 && atDriver * bytes > DRIVER_BUDGET) {
                atDriver = 1;
            }
        }
        int stages = 0;
        int n = partials;
        while (n > atDriver) {
            n = (n + 1) / 2;
            stages++;
        }
        return new int[] {n, stages};
    }

    double fixed(RoundCost.Point p) {
        double[] f = features(p);
        double t = 0;
        for (int i = 0; i < f.length; i++) {
            t += c[i] * f[i];
        }
        return t;
    }

    /** Least squares on relative error, with an active set that holds negative coefficients at 0. */
    static ScalingModel fit(List<RoundCost.Point> points) {
        double[][] features = new double[points.size()][];
        double[] measured = new double[points.size()];
        double[] weights = new double[points.size()];
        for (int r = 0; r < points.size(); r++) {
            features[r] = features(points.get(r));
            measured[r] = points.get(r).round();
            weights[r] = 1 / measured[r];
        }
        return new ScalingModel(nonNegativeFit(features, measured, weights));
    }

    /**
     * The coefficients {@code c ≥ 0} that minimise {@code Σ_r (w_r (Σ_i c_i f_ri − y_r))²}: weighted least squares
     * (with {@code w_r = 1/y_r}, on relative error), with an active set that holds the most negative coefficient at 0
     * and solves again until none is.
     */
    static double[] nonNegativeFit(double[][] features, double[] target, double[] weights) {
        int terms = features[0].length;
        boolean[] active = new boolean[terms];
        java.util.Arrays.fill(active, true);
        while (true) {
            int n = 0;
            for (boolean a : active) {
                n += a ? 1 : 0;
            }
            DMatrixRMaj a = new DMatrixRMaj(features.length, n);
            DMatrixRMaj b = new DMatrixRMaj(features.length, 1);
            for (int r = 0; r < features.length; r++) {
                for (int i = 0, j = 0; i < terms; i++) {
                    if (active[i]) {
                        a.set(r, j++, features[r][i] * weights[r]);
                    }
                }
                b.set(r, 0, target[r] * weights[r]);
            }
            DMatrixRMaj x = new DMatrixRMaj(n, 1);
            if (!CommonOps_DDRM.solve(a, b, x)) {
                throw new IllegalStateException("the model's least-squares problem is singular");
            }
            double[] coefficients = new double[terms];
            int worst = -1;
            for (int i = 0, j = 0; i < terms; i++) {
                if (active[i]) {
                    coefficients[i] = x.get(j++);
                    if (coefficients[i] < 0 && (worst < 0 || coefficients[i] < coefficients[worst])) {
                        worst = i;
                    }
                }
            }
            if (worst < 0) {
                return coefficients;
            }
            active[worst] = false;
        }
    }

    /** The predicted fixed cost of a round on {@code executors} executors of one task each, ms. */
    double predictedFixed(long parameters, int executors, double tau) {
        double bytes = 8.0 * parameters;
        double mb = bytes / 1e6;
        int steps = broadcastSteps(executors);
        double scheduling = c[0] + tau * executors + c[1];
        double broadcast = c[2] * mb + steps * (LATENCY + Math.min(bytes, PIECE) / BANDWIDTH)
                + Math.max(0, bytes - PIECE) / BANDWIDTH;
        double tasks = c[3] * mb;
        int[] merge = merge(executors, bytes);
        // a merge stage: its fitted cost, plus a task fetching two partials over the network
        double stages = merge[1] * (c[5] + c[6] * mb + LATENCY + 2 * bytes / BANDWIDTH);
        // the driver takes its partials through one link
        double driver = merge[0] * (bytes / BANDWIDTH + c[4] * mb);
        return scheduling + broadcast + tasks + stages + driver;
    }

    /** The doubling steps of a torrent broadcast to {@code executors}: {@code ⌈log₂(E+1)⌉}. */
    static int broadcastSteps(int executors) {
        return 32 - Integer.numberOfLeadingZeros(executors);
    }

    static void report(List<RoundCost.Point> points, double tau, NetworkSpec mnist, double mnistRate, NetworkSpec big,
                       double bigRate) {
        List<RoundCost.Point> local = new ArrayList<>();
        List<RoundCost.Point> cluster = new ArrayList<>();
        for (RoundCost.Point p : points) {
            (p.master().startsWith("local") ? local : cluster).add(p);
        }
        ScalingModel predictor = null;
        for (List<RoundCost.Point> group : List.of(local, cluster)) {
            if (group.isEmpty()) {
                continue;
            }
            ScalingModel m = fit(group);
            predictor = m;
            System.out.println();
            System.out.println("model fitted to the " + (group == local ? "local-mode" : "standalone-cluster")
                    + " points: fixed = alpha + beta*w + MB*(c_b + c_w*w + c_d*n) + stages*(gamma + c_m*MB)");
            for (int i = 0; i < TERMS.length; i++) {
                System.out.printf(Locale.ROOT, "  %-34s %10.4f%n", TERMS[i], m.c[i]);
            }
            double[] errors = new double[group.size()];
            System.out.printf(Locale.ROOT, "  %-15s %9s %3s %10s %10s %8s%n", "master", "P", "S", "measured", "model",
                    "error");
            for (int i = 0; i < group.size(); i++) {
                RoundCost.Point p = group.get(i);
                double model = m.fixed(p);
                errors[i] = Math.abs(model - p.round()) / p.round();
                System.out.printf(Locale.ROOT, "  %-15s %9d %3d %10.1f %10.1f %7.0f%%%n", p.master(), p.parameters(),
                        p.shards(), p.round(), model, 100 * (model - p.round()) / p.round());
            }
            double[] sorted = errors.clone();
            java.util.Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "  relative error: median %.0f%%, max %.0f%%%n",
                    100 * RoundCost.median(errors), 100 * sorted[sorted.length - 1]);
        }
        for (double t : new double[] {tau, LITERATURE_TAU}) {
            predict(predictor, t, t == tau ? "measured here (an upper bound)" : "1,500 tasks/s (Sparrow, 2013)",
                    mnist, mnistRate, big, bigRate);
        }
        System.out.println("(fixed: one round's fixed cost; compute: one update's compute per executor, ms; best k: the "
                + "smallest k whose epoch is >= 70% compute, or one round an epoch when none is)");
    }

    /** The table of predictions for 8, 64 and 512 executors, for both networks. */
    private static void predict(ScalingModel predictor, double tau, String source, NetworkSpec mnist, double mnistRate,
                                NetworkSpec big, double bigRate) {
        System.out.println();
        System.out.printf(Locale.ROOT, "predicted: N = %d examples, batch %d, a 10 Gbit/s network with %.0f ms latency, one "
                + "task a round on each executor (its own core), the driver's %.2f ms a task from %s:%n", EXAMPLES,
                BATCH, LATENCY, tau, source);
        System.out.printf(Locale.ROOT, "%-22s %9s %10s %10s %12s %10s %8s %8s %10s%n", "network", "executors",
                "fixed ms", "compute", "epoch k=1 s", "eff. k=1", "best k", "eff.", "epoch s");
        for (NetworkSpec spec : new NetworkSpec[] {mnist, big}) {
            double rate = spec == mnist ? mnistRate : bigRate;
            for (int e : new int[] {8, 64, 512}) {
                double fixed = predictor.predictedFixed(spec.parameterCount(), e, tau);
                int steps = (EXAMPLES + BATCH - 1) / BATCH;
                double compute = 1e3 * steps * ((double) BATCH / e) / rate; // ms an epoch, every executor in parallel
                int best = steps;
                for (int k = 1; k <= steps; k = k == steps ? steps + 1 : Math.min(2 * k, steps)) {
                    if (efficiency(compute, fixed, steps, k) >= 0.7) {
                        best = k;
                        break;
                    }
                }
                System.out.printf(Locale.ROOT, "%-22s %9d %10.1f %10.2f %12.2f %10.3f %8d %8.3f %10.2f%n",
                        layers(spec) + " (" + millions(spec.parameterCount()) + ")", e, fixed, compute / steps,
                        (compute + steps * fixed) / 1e3, efficiency(compute, fixed, steps, 1), best,
                        efficiency(compute, fixed, steps, best), epochSeconds(compute, fixed, steps, best));
            }
        }
    }

    private static double efficiency(double compute, double fixed, int steps, int k) {
        return compute / (compute + ((steps + k - 1) / k) * fixed);
    }

    private static double epochSeconds(double compute, double fixed, int steps, int k) {
        return (compute + ((steps + k - 1) / k) * fixed) / 1e3;
    }

    private static String layers(NetworkSpec spec) {
        StringBuilder sb = new StringBuilder();
        for (int w : spec.layerSizes()) {
            sb.append(sb.length() == 0 ? "" : "-").append(w);
        }
        return sb.toString();
    }

    private static String millions(long p) {
        return p >= 1e6 ? String.format(Locale.ROOT, "%.1fM", p / 1e6) : String.format(Locale.ROOT, "%.0fk", p / 1e3);
    }
}
