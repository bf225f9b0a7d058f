package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

import org.apache.spark.SparkEnv;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.BlockId;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Twenty consecutive runs of the quick-start job in one SparkContext, one in ten diverging
 * mid-training and one in ten failing on a NaN feature: no run leaves a cached RDD behind, and
 * from the fifth run to the last the broadcast blocks, threads and live heap do not grow beyond
 * noise. The figures are logged. {@code -Dsparkprop.manyRuns.epochs} sets the epochs of a run (1 by
 * default, to keep the suite short; the quick start's own is 10), {@code -Dsparkprop.manyRuns.runs}
 * the number of runs, and {@code -Dsparkprop.manyRuns.histogram=true} writes the heap's class histogram
 * ({@code jcmd GC.class_histogram}) at both measurements to {@code target/histogram-RUN.txt}.
 */
@Tag("load")
class ManyRunsIT {
    private static final Logger LOG = LoggerFactory.getLogger(ManyRunsIT.class);
    private static final int RUNS = Integer.getInteger("sparkprop.manyRuns.runs", 20);
    private static final int WARM_UP = 5;
    /**
     * Spark SQL's cached thread pools (AQE's query-stage threads, shuffle exchanges) keep idle threads for
     * 60 s, and with them what their thread-locals hold (sort pages of up to 64 MB): measured sooner,
     * the threads and the heap they hold look like growth.
     */
    private static final long POOL_KEEP_ALIVE_MILLIS = 65_000;
    private long settleNanos;

    @TempDir
    Path dir;

    /** What a session holds after a run, once the garbage collector and Spark's cleaner have had their turn. */
    record Footprint(int cachedRdds, int broadcastBlocks, int threads, long heapBytes) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "cached RDDs %d, broadcast blocks %d, threads %d, live heap %.1f MB",
                    cachedRdds, broadcastBlocks, threads, heapBytes / 1048576.0);
        }
    }

    private Footprint settle(SparkSession spark) throws InterruptedException {
        long start = System.nanoTime();
        // Spark's ContextCleaner removes a stage's task-binary broadcast, shuffle files and accumulators
        // once the GC has collected what refers to them; give it a few rounds
        Footprint last = null;
        for (int round = 0; round < 5; round++) {
            System.gc();
            Thread.sleep(300);
            Footprint now = footprint(spark);
            if (now.equals(last)) {
                break;
            }
            last = now;
        }
        Thread.sleep(POOL_KEEP_ALIVE_MILLIS);
        System.gc();
        settleNanos = System.nanoTime() - start;
        return footprint(spark);
    }

    private static Footprint footprint(SparkSession spark) {
        Runtime rt = Runtime.getRuntime();
        return new Footprint(spark.sparkContext().getPersistentRDDs().size(),
                SparkEnv.get().blockManager().getMatchingBlockIds((BlockId id) -> id.isBroadcast()).length(),
                ManagementFactory.getThreadMXBean().getThreadCount(), rt.totalMemory() - rt.freeMemory());
    }

    /** Live threads by name with digits dropped, for a message that says which kind grew. */
    private static java.util.Map<String, Long> threadKinds() {
        return Thread.getAllStackTraces().keySet().stream().collect(java.util.stream.Collectors.groupingBy(
                t -> t.getName().replaceAll("[0-9]+", "#"), java.util.TreeMap::new,
                java.util.stream.Collectors.counting()));
    }

    private Properties quickstart(int run) throws IOException {
        Properties p = new Properties();
        try (FileInputStream in = new FileInputStream("conf/quickstart.properties")) {
            p.load(in);
        }
        p.setProperty("train.maxEpochs", System.getProperty("sparkprop.manyRuns.epochs", "1"));
        p.setProperty("output.dir", dir.resolve("run-" + run).toString());
        return p;
    }

    /**
     * Run {@code i}: the quick start; runs 2, 12, 22, … diverge mid-training and runs 4, 14, 24, … fail on
     * bad input, so that the warm-up has taken every path once.
     */
    private void run(SparkSession spark, int i) throws IOException {
        Properties p = quickstart(i);
        if (i % 10 == 1 || i % 10 == 3) {
            if (i % 10 == 1) {
                // diverges after the data is cached and packed and a few updates were broadcast
                p.setProperty("model.type", "mlp-regressor");
                p.setProperty("data.format", "synthetic");
                p.setProperty("data.synthetic.rows", "5000");
                p.setProperty("train.optimizer", "sgd");
                p.setProperty("train.stepSize", "1e8");
                p.remove("train.patience");
                p.setProperty("split.validation", "0");
            } else {
                // a NaN feature in the last row: found while the shards are packed
                Path csv = dir.resolve("bad-" + i + ".csv");
                StringBuilder rows = new StringBuilder("label,a,b\n");
                for (int r = 0; r < 200; r++) {
                    rows.append(r % 2).append(',').append(r).append(',').append(r < 199 ? "1" : "NaN").append('\n');
                }
                Files.writeString(csv, rows);
                p.setProperty("data.format", "csv");
                p.setProperty("data.path", csv.toString());
                p.setProperty("model.hidden", "4");
            }
            Path output = Path.of(p.getProperty("output.dir"));
            RuntimeException e = assertThrows(RuntimeException.class, () -> TrainJob.run(JobConfig.parse(p), spark));
            assertTrue(e.getMessage().contains(i % 10 == 1 ? "training diverged" : "NaN"), e.getMessage());
            assertTrue(!Files.exists(output), "a failed run writes no output");
        } else {
            TrainJob.run(JobConfig.parse(p), spark);
        }
    }

    @Test
    void manyRunsInOneSessionLeaveNothingBehind() throws Exception {
        // Spark's status store keeps the last spark.ui.retainedJobs jobs (1000 by default, and as many
        // stages and SQL executions); with small limits it is full after a few runs, so that what grows
        // after that is not Spark's bookkeeping
        SparkSession spark = SparkSession.builder().master("local[2]").appName("ManyRunsIT")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "4")
                .config("spark.ui.retainedJobs", "50").config("spark.ui.retainedStages", "50")
                .config("spark.sql.ui.retainedExecutions", "20").getOrCreate();
        try {
            int cachedBefore = spark.sparkContext().getPersistentRDDs().size();
            Footprint warm = null;
            long start = System.nanoTime();
            for (int i = 0; i < RUNS; i++) {
                run(spark, i);
                // what a run caches is unpersisted before it returns, also when it fails: no settling needed
                assertEquals(cachedBefore, spark.sparkContext().getPersistentRDDs().size(), "after run " + i);
                if (i == WARM_UP - 1 || i == RUNS - 1) {
                    long runNanos = System.nanoTime() - start;
                    Footprint f = settle(spark);
                    LOG.info("after run {} ({} s of runs): {}", i + 1, runNanos / 1_000_000_000L, f);
                    if (Boolean.getBoolean("sparkprop.manyRuns.histogram")) {
                        Process h = new ProcessBuilder("jcmd", Long.toString(ProcessHandle.current().pid()),
                                "GC.class_histogram").redirectErrorStream(true).start();
                        Files.write(Path.of("target", "histogram-" + (i + 1) + ".txt"),
                                h.getInputStream().readAllBytes());
                    }
                    if (warm == null) {
                        warm = f;
                    } else {
                        assertTrue(f.broadcastBlocks() <= warm.broadcastBlocks(), warm + " -> " + f);
                        assertTrue(f.threads() <= warm.threads() + 2, warm + " -> " + f + "; threads: " + threadKinds());
                        // one leaked copy of the packed training data would be 50 MB a run, one leaked broadcast
                        // of the model 0.8 MB a run (12 MB over the 15 runs after the warm-up). Spark 4.1.0 itself
                        // kept every SparkSession it cloned for a query (SPARK-54753), about 0.3 MB a run, which
                        // needed 32 MB over 45 runs; on Spark 4.2.0 the heap moved 0.1 MB over 45 runs
                        assertTrue(f.heapBytes() - warm.heapBytes() < 8L << 20, warm + " -> " + f);
                    }
                    start += settleNanos;
                }
            }
        } finally {
            spark.stop();
        }
    }
}
