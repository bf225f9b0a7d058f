package io.sparkprop.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.train.EpochRecord;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.SparkSession;

/**
 * Training data larger than memory, measured by shrinking the heap rather than growing the data. A first child
 * JVM with the small heap reports its Spark storage memory {@code S}; {@code 1×} is as many rows as {@code S}
 * holds (8 bytes for each of the 200 features and the target: {@code S / 1608}), {@code 10×} ten times that.
 * Then child JVMs train the same {@code 200-64-1} regression (ReLU, Adam, batch 512, 64 local steps,
 * {@code local[2]}, 2 shards, blocks of 128) on generated rows, {@value #EPOCHS} epochs:
 * <ol>
 *   <li>(a) {@code 10×} rows with a heap that holds them: every block in memory;</li>
 *   <li>(b) the same rows with the small heap: about a tenth of the blocks in memory, the rest on disk;</li>
 *   <li>(c) {@code 1×} and (d) {@code 10×} rows with the small heap, each with a thread that collects garbage
 *       (a full collection) every {@value #HEAP_PERIOD_MS} ms and keeps the largest heap in use right after one:
 *       the live heap of the packing and the training, sampled. (a) and (b) run without it, for their times.</li>
 * </ol>
 * Each child reports its time per example (the median epoch after the first, from the epochs' cumulative
 * times, so no time can come out negative), the digest of its parameters' bits and the bytes of its blocks in
 * memory and on disk. Ends with {@code result: oom=<0|1> per_example_vs_in_memory=<b/a> heap_mb_1x=<c>
 * heap_mb_10x=<d> same_bits=<a = b>}. Options: {@code --quick} (a 512 MB small heap: 10× is about 1.3 GB of
 * values), {@code --small-heap H} (default 1g: 10× is about 4.4 GB, the 3M × 200 of the README's table),
 * {@code --big-heap H} (default 3× the 10× data, at least 4g).
 */
public final class OutOfCoreBenchMain {
    static final int FEATURES = 200;
    static final int EPOCHS = 3;
    static final long HEAP_PERIOD_MS = 250;
    /** Bytes of values a row packs into: its features and target as doubles. */
    static final int ROW_BYTES = 8 * (FEATURES + 1);

    private OutOfCoreBenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(Integer.parseInt(args[1]), args.length > 2 && args[2].equals("--measure-heap"));
            return;
        }
        if (args.length > 0 && args[0].equals("--probe")) {
            SparkSession spark = session();
            System.out.printf(Locale.ROOT, "child: storage_mb=%.1f%n",
                    org.apache.spark.SparkEnv.get().memoryManager().maxOnHeapStorageMemory() / 1048576.0);
            spark.stop();
            return;
        }
        boolean quick = Arrays.asList(args).contains("--quick");
        String smallHeap = quick ? "512m" : "1g";
        String bigHeap = null;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--small-heap")) {
                smallHeap = args[i + 1];
            } else if (args[i].equals("--big-heap")) {
                bigHeap = args[i + 1];
            }
        }
        Path logs = Files.createDirectories(Paths.get("target", "bench", "outofcore"));
        Child probe = run("probe", smallHeap, logs, "--probe");
        int rows1x = (int) (probe.storageBytes / ROW_BYTES);
        int rows10x = 10 * rows1x;
        if (bigHeap == null) {
            bigHeap = Math.max(4096, 3L * rows10x * ROW_BYTES >> 20) + "m";
        }
        System.out.printf(Locale.ROOT, "the small heap (-Xmx%s) has %.0f MB of storage memory: 1× = %d rows, "
                + "10× = %d rows (%.0f MB of values)%n", smallHeap, probe.storageBytes / 1048576.0, rows1x, rows10x,
                (double) rows10x * ROW_BYTES / 1048576.0);
        Child a = run("a-in-memory", bigHeap, logs, "--child", Integer.toString(rows10x));
        Child b = run("b-on-disk", smallHeap, logs, "--child", Integer.toString(rows10x));
        Child c = run("c-heap-1x", smallHeap, logs, "--child", Integer.toString(rows1x), "--measure-heap");
        Child d = run("d-heap-10x", smallHeap, logs, "--child", Integer.toString(rows10x), "--measure-heap");
        boolean oom = a.oom || b.oom || c.oom || d.oom;
        for (Child x : List.of(a, b, c, d)) {
            System.out.println(x.line);
        }
        System.out.printf(Locale.ROOT, "data (b): %.0f MB of values, %.1f× the small heap's storage memory: %.0f MB "
                        + "of blocks in memory, %.0f MB on disk%n", b.payload / 1048576.0, b.payload / b.storageBytes,
                b.memory / 1048576.0, b.disk / 1048576.0);
        System.out.printf(Locale.ROOT, "result: oom=%d per_example_vs_in_memory=%.3f heap_mb_1x=%.0f heap_mb_10x=%.0f "
                        + "same_bits=%s%n", oom ? 1 : 0, b.perExampleMicros / a.perExampleMicros,
                c.heapBytes / 1048576.0, d.heapBytes / 1048576.0, !oom && a.digest.equals(b.digest));
    }

    private static SparkSession session() {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sparkprop-bench-outofcore")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        // sparkprop's own lines (packing, epochs: where the blocks went, the disk's read rate) stay in the logs
        org.apache.logging.log4j.core.config.Configurator.setLevel("io.sparkprop",
                org.apache.logging.log4j.Level.INFO);
        return spark;
    }

    /** What a child printed on its {@code child:} line. */
    private static final class Child {
        String line = "";
        boolean oom;
        double perExampleMicros = Double.NaN;
        String digest = "";
        double heapBytes = Double.NaN;
        double payload;
        double memory;
        double disk;
        double storageBytes;
    }

    private static Child run(String name, String heap, Path logs, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        String flags = System.getProperty("sparkprop.jvmFlags", "");
        if (!flags.isBlank()) {
            command.addAll(Arrays.asList(flags.trim().split("\\s+")));
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(OutOfCoreBenchMain.class.getName());
        command.addAll(Arrays.asList(args));
        Path log = logs.resolve(name + ".log");
        System.out.printf(Locale.ROOT, "%s: -Xmx%s %s ...%n", name, heap, String.join(" ", args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        int exit = p.waitFor();
        String out = Files.readString(log);
        Child c = new Child();
        c.oom = out.contains("OutOfMemoryError");
        for (String l : out.split("\n")) {
            if (l.startsWith("child:")) {
                c.line = name + " " + l.substring("child:".length()).trim();
                for (String kv : l.substring("child:".length()).trim().split(" ")) {
                    String[] p2 = kv.split("=");
                    switch (p2[0]) {
                        case "per_example_us":
                            c.perExampleMicros = Double.parseDouble(p2[1]);
                            break;
                        case "digest":
                            c.digest = p2[1];
                            break;
                        case "heap_after_gc_mb":
                            c.heapBytes = Double.parseDouble(p2[1]) * 1048576.0;
                            break;
                        case "payload_mb":
                            c.payload = Double.parseDouble(p2[1]) * 1048576.0;
                            break;
                        case "memory_mb":
                            c.memory = Double.parseDouble(p2[1]) * 1048576.0;
                            break;
                        case "disk_mb":
                            c.disk = Double.parseDouble(p2[1]) * 1048576.0;
                            break;
                        case "storage_mb":
                            c.storageBytes = Double.parseDouble(p2[1]) * 1048576.0;
                            break;
                        default:
                            break;
                    }
                }
            }
        }
        if (exit != 0 && !c.oom) {
            throw new IllegalStateException(name + " failed (exit " + exit + "); see " + log);
        }
        return c;
    }

    /** Rows in slices of 50,000, each generated on the executors from its own seed: {@code y = tanh(a·x) + noise}. */
    static JavaRDD<Example> rows(JavaSparkContext sc, int rows) {
        int slice = 50_000;
        int slices = (rows + slice - 1) / slice;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < slices; i++) {
            ids.add(i);
        }
        int total = rows;
        return sc.parallelize(ids, slices).flatMap(s -> {
            SplittableRandom r = new SplittableRandom(1_000_003L * s + 7);
            int count = Math.min(slice, total - s * slice);
            return new java.util.Iterator<Example>() {
                private int made;

                @Override
                public boolean hasNext() {
                    return made < count;
                }

                @Override
                public Example next() {
                    made++;
                    double[] x = new double[FEATURES];
                    double dot = 0;
                    for (int i = 0; i < FEATURES; i++) {
                        x[i] = r.nextGaussian();
                        dot += x[i] * (((i * 37) % 11) - 5) / 40.0;
                    }
                    return Example.of(Vectors.dense(x), Math.tanh(dot) + 0.05 * r.nextGaussian());
                }
            };
        });
    }

    private static void child(int rows, boolean measureHeap) {
        SparkSession spark = session();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        NetworkSpec spec = NetworkSpec.builder().input(FEATURES).dense(64, Activation.RELU)
                .dense(1, Activation.IDENTITY).loss(Loss.HALF_SQUARED_ERROR).build();
        long storage = org.apache.spark.SparkEnv.get().memoryManager().maxOnHeapStorageMemory();
        java.lang.management.MemoryMXBean memory = java.lang.management.ManagementFactory.getMemoryMXBean();
        System.gc();
        long baseline = memory.getHeapMemoryUsage().getUsed();
        // the samples start from the heap before the fit, so the figure cannot come out negative
        long[] live = {baseline};
        Thread sampler = new Thread(() -> {
            while (measureHeap) {
                try {
                    Thread.sleep(HEAP_PERIOD_MS);
                } catch (InterruptedException e) {
                    return;
                }
                System.gc();
                live[0] = Math.max(live[0], memory.getHeapMemoryUsage().getUsed());
            }
        }, "live-heap-sampler");
        sampler.setDaemon(true);
        sampler.start();
        try {
            TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.adam(0.001)).setBatchSize(512)
                    .setLocalSteps(64).setMaxEpochs(EPOCHS).setTol(0).setSeed(11).fit(rows(sc, rows));
            sampler.interrupt();
            List<EpochRecord> epochs = r.history().epochs();
            double[] perExample = new double[epochs.size() - 1];
            for (int e = 1; e < epochs.size(); e++) {
                perExample[e - 1] = (epochs.get(e).elapsedMillis() - epochs.get(e - 1).elapsedMillis()) * 1e3
                        / r.numExamples();
            }
            Arrays.sort(perExample);
            double median = perExample.length % 2 == 1 ? perExample[perExample.length / 2]
                    : (perExample[perExample.length / 2 - 1] + perExample[perExample.length / 2]) / 2;
            long digest = 0xcbf29ce484222325L;
            for (double v : r.parameters().toFlat()) {
                digest = (digest ^ Double.doubleToRawLongBits(v)) * 0x100000001b3L;
            }
            System.out.printf(Locale.ROOT, "child: rows=%d per_example_us=%.4f digest=%016x heap_after_gc_mb=%s "
                            + "payload_mb=%.1f memory_mb=%.1f disk_mb=%.1f storage_mb=%.1f loss=%.6g%n", rows, median,
                    digest, measureHeap ? Long.toString((live[0] - baseline) >> 20) : "NaN",
                    r.payloadBytes() / 1048576.0, r.memoryBytes() / 1048576.0, r.diskBytes() / 1048576.0,
                    storage / 1048576.0, epochs.get(epochs.size() - 1).loss());
        } finally {
            spark.stop();
        }
    }
}
