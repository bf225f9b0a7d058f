package io.sparkprop.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.job.TrainJob;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.testutil.ChildJvm;
import io.sparkprop.testutil.NetnsCluster;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * {@code jobs/bench exchange}: the parameter exchange of one round on a cluster of several hosts made of
 * network namespaces on this machine ({@link NetnsCluster}: each host one link shaped to {@code --rate},
 * 1 Gbit/s by default), for 1, 2 and 4 workers of one executor each, at the parameter counts of
 * 784-256-128-10 (235k) and 784-4096-512-10 (5.3M).
 * <ul>
 *   <li>Bare exchanges, as a synchronous round moves its values: the driver broadcasts {@code θ} (8P bytes,
 *       Spark's torrent broadcast), every task reads it and returns a full-size partial result (8P bytes), and
 *       the partials are summed in partition order {@code direct}ly at the driver, or by {@link OrderedTreeAggregate}'s
 *       pairwise merges on the executors ({@code tree}, one partial to the driver).</li>
 *   <li>The trainer's own synchronous rounds (Adam, full batch, one example per shard, so that the round is its
 *       exchange) with {@code spark.sparkprop.exchange} {@code driver} ({@code trainer-driver}: the driver's merge
 *       as the trainer plans it) and {@code sliced} ({@code trainer-sliced}: {@link io.sparkprop.exec.SlicedExchange}).</li>
 * </ul>
 * Per round, the median of {@code --reps} rounds after the first ones: its time, and the bytes that crossed the
 * driver's link and the busiest worker's link (received + sent, from the namespaces' interface counters), as a
 * multiple of 8P, and the busiest direction of any link. The driver runs in its own namespace as a child JVM; this
 * JVM builds the cluster, measures one link's bandwidth (a bulk TCP transfer from the driver's host to a worker's),
 * runs the driver once per cluster size and prints the table; then {@link ExchangeModel} fitted to the trainer's
 * rounds, its error on each, and its predictions for 8, 64 and 512 executors. The last line gives the sliced
 * exchange's figures at the most workers: {@code result: driver_bytes_per_round_vs_P=… worker_bytes_per_round_vs_P=…
 * round_5m_vs_direct=… model_error_max=… workers=…} (the ratio: its 5.3M round against {@code trainer-driver}'s;
 * the error: the model's largest relative error over every trainer round measured).
 *
 * <p>Options: {@code --quick} (3 rounds; 1 and 4 workers), {@code --workers 1,2,4}, {@code --rate 1gbit},
 * {@code --reps N} (7), {@code --trainer-only} (no bare exchanges). Needs root and iproute2 ({@code ip},
 * {@code tc}). {@code --from OUTPUT} prints the table, the model and the result line again from an earlier run's
 * output (its {@code point} lines and link probe), with no cluster.
 */
public final class ExchangeBenchMain {
    private static final NetworkSpec MNIST = NetworkSpec.builder().input(784).dense(256, Activation.RELU)
            .dense(128, Activation.RELU).dense(10, Activation.SOFTMAX).build();
    private static final NetworkSpec BIG = NetworkSpec.builder().input(784).dense(4096, Activation.RELU)
            .dense(512, Activation.RELU).dense(10, Activation.SOFTMAX).build();
    private static final String[] PATHS = {"direct", "tree"};
    /** The trainer's rounds run Adam: two state arrays beside θ (its moments), sharded with the slices. */
    private static final int ADAM_STATE_ARRAYS = 2;
    private static final String PROBE_LINE = "link probe: ";
    private static final int PROBE_PORT = 45_901;
    private static final long PROBE_BYTES = 256L << 20;

    private ExchangeBenchMain() {
    }

    /**
     * One measured point: medians per round of its time and of the bytes on the driver's link and on the busiest
     * worker's (received + sent), the workers' mean, and the busiest direction of the driver's link and of any
     * worker's.
     */
    record Point(int workers, long parameters, String path, double roundMs, double driverBytes,
                 double workerBytesMax, double workerBytesMean, double driverDirection, double workerDirectionMax) {
        double driverVsP() {
            return driverBytes / (8.0 * parameters);
        }

        double workerVsP() {
            return workerBytesMax / (8.0 * parameters);
        }

        static Point parse(String line) {
            Map<String, String> f = new java.util.HashMap<>();
            for (String kv : line.substring("point ".length()).trim().split("\\s+")) {
                String[] p = kv.split("=", 2);
                f.put(p[0], p[1]);
            }
            return new Point(Integer.parseInt(f.get("workers")), Long.parseLong(f.get("P")), f.get("path"),
                    Double.parseDouble(f.get("round_ms")), Double.parseDouble(f.get("driver_bytes")),
                    Double.parseDouble(f.get("worker_bytes_max")), Double.parseDouble(f.get("worker_bytes_mean")),
                    Double.parseDouble(f.get("driver_direction")), Double.parseDouble(f.get("worker_direction_max")));
        }

        String line() {
            return String.format(Locale.ROOT, "point workers=%d P=%d path=%s round_ms=%.1f driver_bytes=%.0f "
                    + "worker_bytes_max=%.0f worker_bytes_mean=%.0f driver_direction=%.0f worker_direction_max=%.0f",
                    workers, parameters, path, roundMs, driverBytes, workerBytesMax, workerBytesMean, driverDirection,
                    workerDirectionMax);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--driver")) {
            driver(args);
            return;
        }
        if (args.length > 0 && args[0].equals("--probe-receive")) {
            probeReceive(args[1], Integer.parseInt(args[2]));
            return;
        }
        if (args.length > 0 && args[0].equals("--probe-send")) {
            probeSend(args[1], Integer.parseInt(args[2]), Long.parseLong(args[3]));
            return;
        }
        boolean quick = false;
        int[] workerCounts = null;
        String rate = "1gbit";
        int reps = 7;
        boolean trainerOnly = false;
        Path from = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--trainer-only" -> trainerOnly = true;
                case "--workers" -> workerCounts = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt)
                        .toArray();
                case "--rate" -> rate = args[++i];
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--from" -> from = Path.of(args[++i]);
                default -> {
                    System.err.println("unknown option " + args[i] + "\nusage: jobs/bench exchange [--quick] "
                            + "[--workers 1,2,4] [--rate 1gbit] [--reps N] [--trainer-only] | --from OUTPUT");
                    System.exit(2);
                }
            }
        }
        if (from != null) {
            reportAgain(from);
            return;
        }
        if (workerCounts == null) {
            workerCounts = quick ? new int[] {1, 4} : new int[] {1, 2, 4};
        }
        if (quick) {
            reps = Math.min(reps, 3);
        }
        String home = System.getProperty("sparkprop.sparkHome");
        String classPath = System.getProperty("java.class.path");
        System.out.printf(Locale.ROOT, "links shaped to %s each way (tc tbf; no added latency); P = %d (%s) and %d (%s); "
                + "%d rounds a point after 2%n", rate, MNIST.parameterCount(), MNIST, BIG.parameterCount(), BIG, reps);
        List<Point> points = new ArrayList<>();
        double bandwidth = 0;
        for (int n : workerCounts) {
            try (NetnsCluster cluster = NetnsCluster.start(n, rate, home, "1500m")) {
                if (bandwidth == 0) {
                    bandwidth = probe(cluster, classPath);
                }
                List<String> command = new ArrayList<>(ChildJvm.command("4g", classPath,
                        ExchangeBenchMain.class.getName(), "--driver", cluster.masterUrl(),
                        cluster.address(NetnsCluster.DRIVER), Integer.toString(reps),
                        System.getProperty("sparkprop.executorClassPath"), Boolean.toString(trainerOnly)));
                for (int w = 1; w <= n; w++) {
                    command.add(Long.toString(cluster.hostPid(w)));
                }
                Process driver = cluster.start(NetnsCluster.DRIVER, "driver", command,
                        Map.of("OPENBLAS_NUM_THREADS", "1"));
                if (!driver.waitFor(30, TimeUnit.MINUTES) || driver.exitValue() != 0) {
                    driver.destroyForcibly();
                    throw new IllegalStateException("the driver of " + n + " workers failed: "
                            + tail(cluster.logs().resolve("driver.log")));
                }
                for (String line : Files.readAllLines(cluster.logs().resolve("driver.log"))) {
                    if (line.startsWith("point ")) {
                        Point p = Point.parse(line);
                        points.add(p);
                        System.out.println(p.line());
                    }
                }
            }
        }
        report(points, bandwidth);
    }

    /**
     * The table, the model and the result line again from the output of an earlier run ({@code --from}): its
     * {@code point} lines and its link probe.
     */
    private static void reportAgain(Path output) throws IOException {
        List<Point> points = new ArrayList<>();
        double bandwidth = 0;
        for (String line : Files.readAllLines(output)) {
            if (line.startsWith("point ")) {
                points.add(Point.parse(line));
            } else if (line.startsWith(PROBE_LINE)) {
                bandwidth = Double.parseDouble(line.substring(line.lastIndexOf(':') + 1).trim().split(" ")[0]) * 1e3;
            }
        }
        if (points.isEmpty() || bandwidth == 0) {
            throw new IllegalArgumentException(output + " holds no point lines or no link probe of jobs/bench "
                    + "exchange");
        }
        report(points, bandwidth);
    }

    /**
     * The bandwidth of one link, bytes a ms: {@link #PROBE_BYTES} sent over TCP from the driver's host to the first
     * worker's (through both their links and the bridge), timed by the receiver from the first byte to the last.
     */
    private static double probe(NetnsCluster cluster, String classPath) throws Exception {
        Process receiver = cluster.start(1, "probe-receive", ChildJvm.command("256m", classPath,
                ExchangeBenchMain.class.getName(), "--probe-receive", cluster.address(1), Integer.toString(PROBE_PORT)),
                Map.of());
        Process sender = cluster.start(NetnsCluster.DRIVER, "probe-send", ChildJvm.command("256m", classPath,
                ExchangeBenchMain.class.getName(), "--probe-send", cluster.address(1), Integer.toString(PROBE_PORT),
                Long.toString(PROBE_BYTES)), Map.of());
        if (!receiver.waitFor(2, TimeUnit.MINUTES) || receiver.exitValue() != 0 || !sender.waitFor(1, TimeUnit.MINUTES)
                || sender.exitValue() != 0) {
            throw new IllegalStateException("the link probe failed: "
                    + tail(cluster.logs().resolve("probe-receive.log")) + "\n"
                    + tail(cluster.logs().resolve("probe-send.log")));
        }
        for (String line : Files.readAllLines(cluster.logs().resolve("probe-receive.log"))) {
            if (line.startsWith("probe ")) {
                String[] f = line.split("\\s+");
                double bytes = Double.parseDouble(f[1].substring("bytes=".length()));
                double ms = Double.parseDouble(f[2].substring("ms=".length()));
                System.out.printf(Locale.ROOT, PROBE_LINE + "%.0f MB from the driver's host to a worker's in %.0f ms: "
                        + "%.3f MB/s%n", bytes / 1e6, ms, bytes / ms / 1e3);
                return bytes / ms;
            }
        }
        throw new IllegalStateException("the link probe printed no result");
    }

    private static void probeReceive(String address, int port) throws IOException {
        try (java.net.ServerSocket server = new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName(address));
             java.net.Socket socket = server.accept();
             java.io.InputStream in = socket.getInputStream()) {
            byte[] buffer = new byte[1 << 20];
            long bytes = 0;
            long first = 0;
            for (int r; (r = in.read(buffer)) >= 0; ) {
                if (bytes == 0 && r > 0) {
                    first = System.nanoTime();
                }
                bytes += r;
            }
            System.out.printf(Locale.ROOT, "probe bytes=%d ms=%.3f%n", bytes, (System.nanoTime() - first) / 1e6);
        }
    }

    private static void probeSend(String address, int port, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try (java.net.Socket socket = new java.net.Socket(address, port);
                 java.io.OutputStream out = socket.getOutputStream()) {
                byte[] buffer = new byte[1 << 20];
                new java.util.SplittableRandom(1).nextBytes(buffer);
                for (long sent = 0; sent < bytes; sent += buffer.length) {
                    out.write(buffer, 0, (int) Math.min(buffer.length, bytes - sent));
                }
                return;
            } catch (java.net.ConnectException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200); // the receiver's JVM is still starting
            }
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static void report(List<Point> points, double bandwidth) {
        System.out.println();
        System.out.println("per round (median): time, and bytes on a link (received + sent) / 8P");
        System.out.printf(Locale.ROOT, "%8s %9s %7s %10s %12s %14s%n", "workers", "P", "path", "round ms",
                "driver / 8P", "worker max / 8P");
        for (Point p : points) {
            System.out.printf(Locale.ROOT, "%8d %9d %7s %10.1f %12.2f %14.2f%n", p.workers(), p.parameters(), p.path(),
                    p.roundMs(), p.driverVsP(), p.workerVsP());
        }
        int most = points.stream().mapToInt(Point::workers).max().orElse(0);
        double driverMax = 0;
        double workerMax = 0;
        double slicedBig = Double.NaN;
        double driverBig = Double.NaN;
        for (Point p : points) {
            if (p.workers() != most) {
                continue;
            }
            if (p.path().equals("trainer-sliced")) {
                driverMax = Math.max(driverMax, p.driverVsP());
                workerMax = Math.max(workerMax, p.workerVsP());
                if (p.parameters() == BIG.parameterCount()) {
                    slicedBig = p.roundMs();
                }
            }
            if (p.path().equals("trainer-driver") && p.parameters() == BIG.parameterCount()) {
                driverBig = p.roundMs();
            }
        }
        // every JVM of the namespace cluster shares this machine's cores (with --from: the machine that reports,
        // which is the one that measured)
        double modelError = ExchangeModel.report(ExchangeModel.rounds(points), bandwidth,
                Runtime.getRuntime().availableProcessors(), ADAM_STATE_ARRAYS, MNIST, BIG);
        double directionMax = 0;
        for (Point p : points) {
            if (p.workers() == most && p.path().equals("trainer-sliced")) {
                directionMax = Math.max(directionMax, p.workerDirectionMax() / (8.0 * p.parameters()));
            }
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "the sliced exchange's busiest worker link, its busier direction alone: "
                + "%.2f x 8P%n", directionMax);
        // the sliced exchange's bytes at the most workers, its 5.3M round against the driver's merge there, and the
        // model's largest error over every trainer round measured
        System.out.printf(Locale.ROOT, "result: driver_bytes_per_round_vs_P=%.2f worker_bytes_per_round_vs_P=%.2f "
                + "round_5m_vs_direct=%.3f model_error_max=%.3f workers=%d%n", driverMax, workerMax,
                slicedBig / driverBig, modelError, most);
    }

    // ---- the driver, in its own namespace -------------------------------------------------------------------

    private static void driver(String[] args) throws Exception {
        String master = args[1];
        String host = args[2];
        int reps = Integer.parseInt(args[3]);
        String executorClassPath = args[4];
        boolean trainerOnly = Boolean.parseBoolean(args[5]);
        long[] workerPids = new long[args.length - 6];
        for (int i = 6; i < args.length; i++) {
            workerPids[i - 6] = Long.parseLong(args[i]);
        }
        int n = workerPids.length;
        // the session of jobs/train and jobs/submit (TrainJob.SPARK_DEFAULTS): a task's full-size result returns
        // with the task rather than through the block manager, and broadcasts are not compressed, for every path
        SparkSession.Builder builder = SparkSession.builder();
        TrainJob.SPARK_DEFAULTS.forEach(builder::config);
        SparkSession spark = builder.master(master).appName("sparkprop-bench-exchange")
                .config("spark.ui.enabled", "false").config("spark.driver.host", host)
                .config("spark.driver.bindAddress", host).config("spark.executor.memory", "1g")
                .config("spark.executor.cores", "1").config("spark.cores.max", Integer.toString(n))
                .config("spark.executor.extraClassPath", executorClassPath)
                .config("spark.executorEnv.OPENBLAS_NUM_THREADS", "1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (sc.sc().getExecutorMemoryStatus().size() < n + 1 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            if (sc.sc().getExecutorMemoryStatus().size() < n + 1) {
                throw new IllegalStateException(n + " executors did not register within 180 s");
            }
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ids.add(i);
            }
            JavaRDD<Integer> tasks = sc.parallelize(ids, n).cache();
            tasks.count();
            for (NetworkSpec spec : new NetworkSpec[] {MNIST, BIG}) {
                int p = (int) spec.parameterCount();
                for (String path : trainerOnly ? new String[0] : PATHS) {
                    if (n == 1 && path.equals("tree")) {
                        continue; // one partial: the same exchange as direct
                    }
                    System.out.println(measure(sc, tasks, n, p, path, reps, workerPids).line());
                }
                for (String exchange : new String[] {"driver", "sliced"}) {
                    System.out.println(trainerRounds(sc, spec, n, exchange, reps, workerPids).line());
                }
            }
        } finally {
            spark.stop();
        }
    }

    private static Point measure(JavaSparkContext sc, JavaRDD<Integer> tasks, int n, int p, String path, int reps,
                                 long[] workerPids) throws IOException {
        Samples samples = new Samples(reps);
        // random values, as weights are: Spark compresses broadcasts (LZ4), which would shrink a constant θ
        double[] theta = new java.util.SplittableRandom(7).doubles(p).toArray();
        for (int r = -2; r < reps; r++) {
            long[] d0 = NetnsCluster.linkBytes(ProcessHandle.current().pid());
            long[][] w0 = linkBytes(workerPids);
            long t0 = System.nanoTime();
            theta[0] = r; // a new θ every round, as the trainer's
            Broadcast<double[]> b = sc.broadcast(theta);
            JavaPairRDD<Integer, double[]> partials = tasks.mapPartitionsWithIndex(new Partial(b), true)
                    .mapToPair(t -> t);
            double[] sum;
            if (path.equals("direct")) {
                List<Tuple2<Integer, double[]>> all = new ArrayList<>(partials.collect());
                all.sort((a, c) -> Integer.compare(a._1, c._1));
                sum = new double[p];
                for (Tuple2<Integer, double[]> t : all) {
                    for (int i = 0; i < p; i++) {
                        sum[i] += t._2[i];
                    }
                }
            } else {
                // a driver budget below n partials: the pairwise merges run on the executors
                SparkConf conf = sc.getConf().clone().set("spark.driver.maxResultSize",
                        Long.toString(8L * p + (8L * p) / 4));
                sum = OrderedTreeAggregate.plan(n, 2, 8L * p, conf, "partial").aggregate(partials, (a, c) -> {
                    for (int i = 0; i < a.length; i++) {
                        a[i] += c[i];
                    }
                    return a;
                });
            }
            if (sum[0] != n * (r + 1.0) || Math.abs(sum[p - 1] - n * (theta[p - 1] + 1)) > 1e-12 * n) {
                throw new IllegalStateException("wrong sum " + sum[0] + " in round " + r);
            }
            b.destroy();
            long t1 = System.nanoTime();
            long[] d1 = NetnsCluster.linkBytes(ProcessHandle.current().pid());
            if (r < 0) {
                continue;
            }
            samples.add(r, (t1 - t0) / 1e6, d0, d1, w0, linkBytes(workerPids));
        }
        return samples.point(n, p, path);
    }

    /**
     * The trainer's own synchronous rounds (Adam, full batch, one example per shard: the compute is nothing, the
     * round is its exchange) with {@code spark.sparkprop.exchange} set to {@code exchange}: each round's time from
     * the history, its bytes from the counters read at each epoch's end (one round an epoch).
     */
    private static Point trainerRounds(JavaSparkContext sc, NetworkSpec spec, int n, String exchange, int reps,
                                       long[] workerPids) {
        List<io.sparkprop.data.Example> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(io.sparkprop.data.Example.of(new java.util.SplittableRandom(i).doubles(spec.inputSize())
                    .toArray(), i % spec.outputSize()));
        }
        List<long[]> driver = new ArrayList<>();
        List<long[][]> workers = new ArrayList<>();
        sc.setLocalProperty(io.sparkprop.exec.SlicedExchange.EXCHANGE_KEY, exchange);
        io.sparkprop.train.TrainingResult fit;
        try {
            fit = new io.sparkprop.train.Trainer(spec, io.sparkprop.train.MlpSettings.builder().optimizer("adam")
                    .stepSize(1e-3).batchSize(0).localSteps("1").maxEpochs(reps + 3).tol(0).numShards(n).build())
                    .setEpochListener((record, params) -> {
                        try {
                            driver.add(NetnsCluster.linkBytes(ProcessHandle.current().pid()));
                            workers.add(linkBytes(workerPids));
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        return true;
                    }).fit(sc.parallelize(rows, n));
        } finally {
            sc.setLocalProperty(io.sparkprop.exec.SlicedExchange.EXCHANGE_KEY, null);
        }
        String path = fit.aggregation().startsWith("reduce-scatter") ? "sliced" : "driver";
        if (!path.equals(exchange)) {
            throw new IllegalStateException("asked for the " + exchange + " exchange, the fit took " + fit.aggregation());
        }
        Samples samples = new Samples(reps);
        List<io.sparkprop.train.IterationRecord> its = fit.history().iterations();
        for (int r = 0; r < reps; r++) {
            int e = r + 3; // rounds 1-3 warm up: the slices are seeded in the first
            samples.add(r, its.get(e).millis(), driver.get(e - 1), driver.get(e), workers.get(e - 1), workers.get(e));
        }
        return samples.point(n, spec.parameterCount(), "trainer-" + exchange);
    }

    /** A point's rounds: each one's time and the link counters read before and after it; medians make the point. */
    private static final class Samples {
        private final double[] time;
        private final double[] driver;
        private final double[] driverDirection;
        private final double[] workerMax;
        private final double[] workerMean;
        private final double[] workerDirection;

        Samples(int reps) {
            time = new double[reps];
            driver = new double[reps];
            driverDirection = new double[reps];
            workerMax = new double[reps];
            workerMean = new double[reps];
            workerDirection = new double[reps];
        }

        void add(int r, double ms, long[] driverBefore, long[] driverAfter, long[][] workersBefore,
                 long[][] workersAfter) {
            time[r] = ms;
            driver[r] = crossed(driverBefore, driverAfter);
            driverDirection[r] = busierDirection(driverBefore, driverAfter);
            double[] w = maxAndMean(workersBefore, workersAfter);
            workerMax[r] = w[0];
            workerMean[r] = w[1];
            workerDirection[r] = w[2];
        }

        Point point(int workers, long parameters, String path) {
            return new Point(workers, parameters, path, RoundCost.median(time), RoundCost.median(driver),
                    RoundCost.median(workerMax), RoundCost.median(workerMean), RoundCost.median(driverDirection),
                    RoundCost.median(workerDirection));
        }
    }

    /** {@link NetnsCluster#linkBytes(long)} of each process in {@code pids}. */
    private static long[][] linkBytes(long[] pids) throws IOException {
        long[][] bytes = new long[pids.length][];
        for (int i = 0; i < pids.length; i++) {
            bytes[i] = NetnsCluster.linkBytes(pids[i]);
        }
        return bytes;
    }

    /** Bytes received and sent on a link between two readings {@code {rx, tx}}. */
    private static double crossed(long[] before, long[] after) {
        return (after[0] - before[0]) + (after[1] - before[1]);
    }

    /** The bytes of the busier direction of a link between two readings. */
    private static double busierDirection(long[] before, long[] after) {
        return Math.max(after[0] - before[0], after[1] - before[1]);
    }

    /**
     * Over the links of two readings of all workers: the most and the mean {@link #crossed} bytes, and the most
     * {@link #busierDirection} bytes.
     */
    private static double[] maxAndMean(long[][] before, long[][] after) {
        double max = 0;
        double total = 0;
        double direction = 0;
        for (int w = 0; w < before.length; w++) {
            double bytes = crossed(before[w], after[w]);
            max = Math.max(max, bytes);
            total += bytes;
            direction = Math.max(direction, busierDirection(before[w], after[w]));
        }
        return new double[] {max, total / before.length, direction};
    }

    /** A task's partial result: {@code θ + 1} elementwise, full size, keyed by the partition index. */
    private static final class Partial
            implements Function2<Integer, Iterator<Integer>, Iterator<Tuple2<Integer, double[]>>> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<double[]> theta;

        Partial(Broadcast<double[]> theta) {
            this.theta = theta;
        }

        @Override
        public Iterator<Tuple2<Integer, double[]>> call(Integer partition, Iterator<Integer> it) {
            double[] t = theta.value();
            double[] out = new double[t.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = t[i] + 1;
            }
            return Collections.singletonList(new Tuple2<>(partition, out)).iterator();
        }
    }
}
