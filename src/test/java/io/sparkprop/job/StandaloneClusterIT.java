package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import io.sparkprop.ml.MlpModel;
import io.sparkprop.testutil.ChildJvm;
import io.sparkprop.testutil.SparkTestSupport;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Spark standalone cluster on loopback, started from the Maven jars (DESIGN §7): a master and
 * a worker with 2 cores, jobs submitted with {@code jobs/submit} and the shaded jar. The model a job
 * writes there must equal the one of the same job in {@code local[2]}, bit for bit — also when an
 * executor JVM is killed mid-training, and when the driver JVM is killed and the job resumed from
 * its checkpoints. Every process started here is stopped by its pid, also when a test fails.
 */
@Tag("cluster")
class StandaloneClusterIT {
    private static final List<Process> CLUSTER = new ArrayList<>();
    @TempDir
    static Path clusterDir;
    private static Map<String, String> env;
    private static String url;
    private static Process worker;

    /** Rows of the kill tests' jobs: about 9,600 after the test split, 96 updates an epoch, 24 rounds of 4 steps. */
    private static final int KILL_ROWS = 12_000;

    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path dir;

    @BeforeAll
    static void startCluster() throws Exception {
        String sparkHome = System.getProperty("sparkprop.sparkHome");
        env = Map.of("SPARK_HOME", sparkHome, "SPARK_SCALA_VERSION", "2.13", "OPENBLAS_NUM_THREADS", "1",
                "SPARK_LOCAL_IP", "127.0.0.1");
        int masterPort = freePort();
        Process master = start(CLUSTER, clusterDir.resolve("master.log"), java(sparkHome,
                "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", Integer.toString(masterPort),
                "--webui-port", Integer.toString(freePort())));
        awaitPort(masterPort, master, clusterDir.resolve("master.log"));
        url = "spark://127.0.0.1:" + masterPort;
        int workerPort = freePort();
        worker = start(CLUSTER, clusterDir.resolve("worker.log"), java(sparkHome,
                "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--port",
                Integer.toString(workerPort), "--webui-port", Integer.toString(freePort()), "--cores", "2",
                "--memory", "2g", "--work-dir", clusterDir.resolve("work").toString()));
        awaitPort(workerPort, worker, clusterDir.resolve("worker.log"));
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        stop(CLUSTER);
    }

    @AfterEach
    void stopWhatTheTestStarted() throws InterruptedException {
        stop(started);
    }

    private static void stop(List<Process> processes) throws InterruptedException {
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
        processes.clear();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Process start(List<Process> owner, Path log, List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        owner.add(p);
        return p;
    }

    private static List<String> java(String sparkHome, String mainClass, String... args) {
        return ChildJvm.command("1g", sparkHome + File.separator + "jars" + File.separator + "*", mainClass, args);
    }

    private static void awaitPort(int port, Process process, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("process exited: " + Files.readString(log));
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("nothing listens on port " + port + " after 60 s: " + Files.readString(log));
    }

    /** Waits up to {@code seconds} for {@code condition}, failing with the log of {@code process} if it ends first. */
    private static void await(String what, int seconds, Process process, Path log, BooleanSupplier condition)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (!process.isAlive()) {
                throw new AssertionError("the job ended before " + what + ": " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " after " + seconds + " s: " + Files.readString(log));
            }
            Thread.sleep(100);
        }
    }

    private static String read(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A regression job; {@code rows} sets how long it trains (a fifth is held out for the test; batches of 100). */
    private static Properties job(Path output, int rows, int epochs) {
        Properties p = new Properties();
        p.setProperty("data.format", "synthetic");
        p.setProperty("data.synthetic.rows", Integer.toString(rows));
        p.setProperty("data.synthetic.features", "8");
        p.setProperty("model.type", "mlp-regressor");
        p.setProperty("model.hidden", "6");
        p.setProperty("train.stepSize", "0.01");
        p.setProperty("train.batchSize", "100");
        p.setProperty("train.maxEpochs", Integer.toString(epochs));
        p.setProperty("train.tol", "0");
        p.setProperty("spark.partitions", "2");
        p.setProperty("output.dir", output.toString());
        return p;
    }

    /** Starts {@code jobs/submit} with {@code config} as a user runs it; its pid is the driver JVM's. */
    private Process submit(String name, Properties config, String... sparkConf) throws IOException {
        Path conf = dir.resolve(name + ".properties");
        try (var out = Files.newOutputStream(conf)) {
            config.store(out, "standalone-cluster integration test");
        }
        List<String> command = new ArrayList<>(List.of("bash", Paths.get("jobs", "submit").toString(), "--master", url,
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.executor.memory=512m"));
        for (String c : sparkConf) {
            command.add("--conf");
            command.add(c);
        }
        command.add(conf.toString());
        // jobs/submit ends in exec: the process started here becomes the driver JVM
        return start(started, dir.resolve(name + ".log"), command);
    }

    private String finish(String name, Process submit) throws Exception {
        assertTrue(submit.waitFor(300, TimeUnit.SECONDS), "the submitted job finished within 5 minutes");
        String log = read(dir.resolve(name + ".log"));
        assertEquals(0, submit.exitValue(), log);
        assertTrue(log.contains("sparkprop: done;"), log);
        return log;
    }

    /** Runs {@code config} in {@code local[2]} in this JVM; its model must equal the one in {@code clusterOutput}. */
    private static void assertSameAsLocal(Properties config, Path clusterOutput) {
        SparkSession spark = SparkTestSupport.start(StandaloneClusterIT.class);
        try {
            TrainJob.run(JobConfig.parse(config), spark);
            assertArrayEquals(parameters(Paths.get(config.getProperty("output.dir"))), parameters(clusterOutput), 0.0);
        } finally {
            spark.stop();
        }
    }

    private static double[] parameters(Path output) {
        return ((MlpModel<?>) PipelineModel.load(output.resolve("model").toString()).stages()[0]).parameters().toFlat();
    }

    /** The executor JVMs the worker runs now (children of the worker process). */
    private static List<ProcessHandle> executors() {
        return worker.toHandle().descendants()
                .filter(h -> h.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
                .toList();
    }

    /**
     * {@link #job} with 4 local steps a round and outer momentum, and the training recipe — dropout (masks keyed by
     * seed, update, shard and block), a warm-up and cosine schedule, clipping: what the kill tests train, so that a
     * task re-run on another executor and a resumed driver must draw the same masks.
     */
    private static Properties localStepsJob(Path output, int rows, int epochs) {
        Properties p = job(output, rows, epochs);
        p.setProperty("train.localSteps", "4");
        p.setProperty("train.outerMomentum", "0.5");
        p.setProperty("train.dropout", "0.1");
        p.setProperty("train.stepSchedule", "cosine");
        p.setProperty("train.warmupSteps", "6");
        p.setProperty("train.clipNorm", "5");
        return p;
    }

    /** {@link #localStepsJob} in float32: float shards, sgemm, float parameters shipped. */
    private static Properties float32Job(Path output, int rows, int epochs) {
        Properties p = localStepsJob(output, rows, epochs);
        p.setProperty("train.precision", "float32");
        return p;
    }

    /**
     * Submits {@code config} ({@code epochs} epochs) on two executors, kills one of them (SIGKILL) once epoch 2 has
     * ended, and waits for the job to finish all its epochs, the driver having seen the executor go.
     *
     * @return the driver's log before the kill, and the whole of it at the end
     */
    private String[] killOneExecutorAfterEpoch2(String name, Properties config, int epochs, String... sparkConf)
            throws Exception {
        Path log = dir.resolve(name + ".log");
        Process submit = submit(name, config, sparkConf);
        String last = "sparkprop epoch " + epochs + "/" + epochs;
        await("two executors and epoch 2", 240, submit, log,
                () -> read(log).contains("sparkprop epoch 2/" + epochs) && executors().size() == 2);
        String before = read(log);
        assertFalse(before.contains(last), before);
        ProcessHandle victim = executors().get(0);
        assertTrue(victim.destroyForcibly(), "killed executor " + victim.pid());
        String done = finish(name, submit);
        assertTrue(done.substring(before.length()).contains(last), done);
        assertTrue(done.contains("Lost executor") || done.contains("ExecutorLostFailure")
                || done.contains("removed"), "the driver saw the executor go: " + done);
        return new String[] {before, done};
    }

    /**
     * The job submitted with the shaded jar on two executors of one core, training in float32 with 64 KB of each
     * shard's blocks in memory and the rest (about 100 KB a shard) on the executors' disks; after epoch 2 of 6 one
     * of them is killed (SIGKILL). Spark re-runs its tasks — each recomputes its round's 4 local steps from the
     * broadcast —, rebuilds its cached float32 shard from the lineage on a live executor (blocks on that executor's
     * disk again), and training ends with the parameters of an uninterrupted run in local mode with every block in
     * memory. The summary says the bits are portable, and which GEMM the executors (other JVMs on this machine) used.
     */
    @Test
    void killingAnExecutorMidTrainingChangesNoBit() throws Exception {
        String jar = System.getProperty("sparkprop.jar");
        assertTrue(Files.isRegularFile(Paths.get(jar)), "the shaded jar " + jar);
        Path out = dir.resolve("executor-kill-out");
        String done = killOneExecutorAfterEpoch2("executor-kill", float32Job(out, KILL_ROWS, 6), 6,
                "spark.executor.cores=1", "spark.sparkprop.storageMemory=64k")[1];
        // every executor logs the shards it packs: 2 at the start, and again any that were lost
        long packs;
        try (Stream<Path> files = Files.walk(clusterDir.resolve("work"))) {
            packs = files.filter(f -> f.getFileName().toString().equals("stderr")).mapToLong(f -> read(f).lines()
                    .filter(l -> l.contains("sparkprop: packed partition")).count()).sum();
        }
        assertTrue(packs >= 3, "a lost shard was packed again (" + packs + " packs)");
        assertTrue(done.contains("of blocks on disk") && !done.contains("0 B of blocks on disk"),
                "the blocks that did not fit 64 KB went to disk: " + done);
        assertSameAsLocal(float32Job(dir.resolve("executor-kill-local"), KILL_ROWS, 6), out);
        String metrics = Files.readString(out.resolve("metrics.json"));
        assertTrue(metrics.contains("\"bitsPortable\" : true"), metrics);
        assertTrue(metrics.contains("\"gemm\" : \"netlib-native (") || metrics.contains("\"gemm\" : \"ejml ("),
                metrics);
    }

    /**
     * The sliced exchange ({@code spark.sparkprop.exchange=sliced}: each round's merge and Adam step as a
     * reduce-scatter on the executors, the rule's state in slices replicated on both executors) on two executors of
     * one core, a network of 10,001 parameters in 2 slices; after epoch 2 of 4 one executor is killed (SIGKILL). Its
     * slices are read from their replicas, its map outputs and shard recomputed, and training ends with the
     * parameters of the same job in local mode, where the driver merges.
     */
    @Test
    void killingAnExecutorDuringSlicedRoundsChangesNoBit() throws Exception {
        Path out = dir.resolve("sliced-kill-out");
        String[] logs = killOneExecutorAfterEpoch2("sliced-kill", slicedJob(out), 4, "spark.executor.cores=1",
                "spark.sparkprop.exchange=sliced");
        assertTrue(logs[0].contains("reduce-scatter of 2 partial results in 2 slices"), logs[0]);
        assertSameAsLocal(slicedJob(dir.resolve("sliced-kill-local")), out);
    }

    /** {@link #job} of 1,000 rows, 1000 hidden units, Adam with the ridge term, synchronous rounds, 4 epochs. */
    private static Properties slicedJob(Path output) {
        Properties p = job(output, 1000, 4);
        p.setProperty("model.hidden", "1000");
        p.setProperty("train.optimizer", "adam");
        p.setProperty("train.stepSize", "0.001");
        p.setProperty("train.regParam", "0.001");
        p.setProperty("train.localSteps", "1");
        return p;
    }

    /**
     * The driver JVM is killed (SIGKILL) after its second checkpoint: the output folder does not exist.
     * The same job with {@code resume=true} continues from the newest checkpoint (the outer momentum of its
     * local steps included), removes a temporary output folder an interrupted run left, and writes the
     * parameters of an uninterrupted run.
     */
    @Test
    void aKilledDriverResumesToTheSameBits() throws Exception {
        Path out = dir.resolve("driver-kill-out");
        Path checkpoints = dir.resolve("checkpoints");
        Properties config = localStepsJob(out, KILL_ROWS, 6);
        config.setProperty("checkpoint.dir", checkpoints.toString());
        Path log = dir.resolve("driver-kill.log");
        Process driver = submit("driver-kill", config);
        await("the second checkpoint", 240, driver, log, () -> Files.exists(checkpoints.resolve("epoch-000002.ckpt")));
        driver.destroyForcibly();
        assertTrue(driver.waitFor(30, TimeUnit.SECONDS), "the driver is gone");
        String killed = read(log);
        assertFalse(killed.contains("sparkprop epoch 6/6"), "killed mid-training: " + killed);
        assertFalse(Files.exists(out), "no output from a killed driver");
        // what a driver killed while writing its outputs would leave: a temporary sibling folder
        Path stale = dir.resolve(".driver-kill-out.tmp-0c0ffee0-0000-4000-8000-000000000000");
        Files.createDirectories(stale.resolve("model"));
        Files.writeString(stale.resolve("model").resolve("part-00000"), "half-written");

        config.setProperty("resume", "true");
        String resumed = finish("driver-resume", submit("driver-resume", config));
        assertTrue(resumed.contains("sparkprop: resuming after epoch"), resumed);
        assertFalse(resumed.contains("sparkprop epoch 1/6"), "no epoch is trained twice: " + resumed);
        assertFalse(Files.exists(stale), "the stale temporary folder is removed");
        try (Stream<Path> siblings = Files.list(dir)) {
            assertEquals(List.of(), siblings.filter(p -> p.getFileName().toString().contains(".tmp-")).toList());
        }
        assertSameAsLocal(localStepsJob(dir.resolve("driver-kill-local"), KILL_ROWS, 6), out);
    }
}
