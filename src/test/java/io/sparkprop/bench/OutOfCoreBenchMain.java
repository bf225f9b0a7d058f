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
import io.sparkprop.testutil.HeapSampler;
import io.sparkprop.train.EpochRecord;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.SparkSession;

/**
 * Training data larger than memory, measured by shrinking the heap rather than growing the data. Three child
 * JVMs train the same {@code 200-64-1} regression (ReLU, Adam, batch 512, 64 local steps, {@code local[2]}, 2
 * shards, blocks of 128) on generated rows of 200 features, {@value #EPOCHS} epochs:
 * <ol>
 *   <li>(a) {@code 10×} rows with a heap that holds them: every block in memory;</li>
 *   <li>(b) the same rows with a small heap whose Spark storage memory is a tenth of the data or less: the
 *       rest of the blocks on disk;</li>
 *   <li>(c) {@code 1×} rows (about the small heap's storage memory) with the small heap.</li>
 * </ol>
 * Each child reports its time per example (the median epoch after the first, from the epochs' cumulative
 * times, so no time can come out negative), the digest of its parameters' bits, the bytes of its blocks in
 * memory and on disk, and the peak heap right after a collection, less the heap in use before the fit. Ends with
 * {@code result: oom=<0|1> per_example_vs_in_memory=<b/a> heap_mb_1x=<c> heap_mb_10x=<b> same_bits=<a = b>}.
 * Options: {@code --quick} (a smaller data set and heap: a quicker, noisier run), {@code --rows N} (the 10×
 * rows), {@code --small-heap H}, {@code --big-heap H}.
 */
public final class OutOfCoreBenchMain {
    static final int FEATURES = 200;
    static final int EPOCHS = 3;

    private OutOfCoreBenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(Integer.parseInt(args[1]));
            return;
        }
        boolean quick = Arrays.asList(args).contains("--quick");
        int rows = quick ? 600_000 : 1_500_000;
        String smallHeap = quick ? "640m" : "768m";
        String bigHeap = "8g";
        for (int i = 0; i + 1 < args.length; i++) {
            switch (args[i]) {
                case "--rows":
                    rows = Integer.parseInt(args[i + 1]);
                    break;
                case "--small-heap":
                    smallHeap = args[i + 1];
                    break;
                case "--big-heap":
                    bigHeap = args[i + 1];
                    break;
                default:
                    break;
            }
        }
        Path logs = Files.createDirectories(Paths.get("target", "bench", "outofcore"));
        Child a = run("a-in-memory", bigHeap, rows, logs);
        Child b = run("b-on-disk", smallHeap, rows, logs);
        Child c = run("c-1x", smallHeap, rows / 10, logs);
        boolean oom = a.oom || b.oom || c.oom;
        for (Child x : List.of(a, b, c)) {
            System.out.println(x.line);
        }
        double storage = b.storageBytes;
        System.out.printf(Locale.ROOT, "data (b): %.0f MB of values, %.1f× the small heap's storage memory "
                        + "(%.0f MB): %.0f MB of blocks in memory, %.0f MB on disk%n", b.payload / 1048576.0,
                b.payload / storage, storage / 1048576.0, b.memory / 1048576.0, b.disk / 1048576.0);
        System.out.printf(Locale.ROOT, "result: oom=%d per_example_vs_in_memory=%.3f heap_mb_1x=%.0f heap_mb_10x=%.0f "
                        + "same_bits=%s%n", oom ? 1 : 0, b.perExampleMicros / a.perExampleMicros,
                c.heapBytes / 1048576.0, b.heapBytes / 1048576.0, !oom && a.digest.equals(b.digest));
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

    private static Child run(String name, String heap, int rows, Path logs) throws IOException, InterruptedException {
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
        command.add("--child");
        command.add(Integer.toString(rows));
        Path log = logs.resolve(name + ".log");
        System.out.printf(Locale.ROOT, "%s: %d rows, -Xmx%s ...%n", name, rows, heap);
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

    private static void child(int rows) {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sparkprop-bench-outofcore")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        NetworkSpec spec = NetworkSpec.builder().input(FEATURES).dense(64, Activation.RELU)
                .dense(1, Activation.IDENTITY).loss(Loss.HALF_SQUARED_ERROR).build();
        long storage = org.apache.spark.SparkEnv.get().memoryManager().maxOnHeapStorageMemory();
        try (HeapSampler heap = new HeapSampler()) {
            heap.reset();
            TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.adam(0.001)).setBatchSize(512)
                    .setLocalSteps(64).setMaxEpochs(EPOCHS).setTol(0).setSeed(11).fit(rows(sc, rows));
            long heapMb = (heap.peakAfterGc() - heap.baseline()) >> 20;
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
            System.out.printf(Locale.ROOT, "child: rows=%d per_example_us=%.4f digest=%016x heap_after_gc_mb=%d "
                            + "payload_mb=%.1f memory_mb=%.1f disk_mb=%.1f storage_mb=%.1f loss=%.6g%n", rows, median,
                    digest, heapMb, r.payloadBytes() / 1048576.0, r.memoryBytes() / 1048576.0,
                    r.diskBytes() / 1048576.0, storage / 1048576.0, epochs.get(epochs.size() - 1).loss());
        } finally {
            spark.stop();
        }
    }
}
