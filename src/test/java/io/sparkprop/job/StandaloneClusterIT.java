package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
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

import io.sparkprop.ml.MlpModel;
import io.sparkprop.testutil.ChildJvm;
import io.sparkprop.testutil.SparkTestSupport;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Spark standalone cluster on loopback, started from the Maven jars (DESIGN §7): a master,
 * a worker with 2 executor cores, and the job submitted with {@code jobs/submit} and the shaded jar;
 * the model it writes must equal the one of the same job in {@code local[2]}. Every process started
 * here is stopped by its pid, also when the test fails.
 */
@Tag("cluster")
class StandaloneClusterIT {
    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void stopWhatWeStarted() throws InterruptedException {
        for (int i = started.size() - 1; i >= 0; i--) {
            Process p = started.get(i);
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private Process start(String name, List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        pb.redirectOutput(dir.resolve(name + ".log").toFile());
        Process p = pb.start();
        started.add(p);
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

    private Properties job(Path output) {
        Properties p = new Properties();
        p.setProperty("data.format", "synthetic");
        p.setProperty("data.synthetic.rows", "2000");
        p.setProperty("data.synthetic.features", "8");
        p.setProperty("model.type", "mlp-regressor");
        p.setProperty("model.hidden", "6");
        p.setProperty("train.stepSize", "0.01");
        p.setProperty("train.batchSize", "100");
        p.setProperty("train.maxEpochs", "3");
        p.setProperty("train.tol", "0");
        p.setProperty("spark.partitions", "2");
        p.setProperty("output.dir", output.toString());
        return p;
    }

    @Test
    void aJobOnAStandaloneClusterEqualsTheSameJobInLocalMode() throws Exception {
        String sparkHome = System.getProperty("sparkprop.sparkHome");
        String jar = System.getProperty("sparkprop.jar");
        assertTrue(Files.isRegularFile(Paths.get(jar)), "the shaded jar " + jar);
        Map<String, String> env = Map.of("SPARK_HOME", sparkHome, "SPARK_SCALA_VERSION", "2.13",
                "OPENBLAS_NUM_THREADS", "1", "SPARK_LOCAL_IP", "127.0.0.1");

        int masterPort = freePort();
        Process master = start("master", java(sparkHome, "org.apache.spark.deploy.master.Master", "--host",
                "127.0.0.1", "--port", Integer.toString(masterPort), "--webui-port", Integer.toString(freePort())), env);
        awaitPort(masterPort, master, dir.resolve("master.log"));
        String url = "spark://127.0.0.1:" + masterPort;
        int workerPort = freePort();
        Process worker = start("worker", java(sparkHome, "org.apache.spark.deploy.worker.Worker", url, "--host",
                "127.0.0.1", "--port", Integer.toString(workerPort), "--webui-port", Integer.toString(freePort()),
                "--cores", "2", "--memory", "2g", "--work-dir", dir.resolve("work").toString()), env);
        awaitPort(workerPort, worker, dir.resolve("worker.log"));

        Path clusterOut = dir.resolve("cluster-out");
        Path conf = dir.resolve("job.properties");
        try (var out = Files.newOutputStream(conf)) {
            job(clusterOut).store(out, "standalone-cluster integration test");
        }
        // jobs/submit as a user runs it; with a jars-only SPARK_HOME it runs SparkSubmit from those jars
        Process submit = start("submit", List.of("bash", Paths.get("jobs", "submit").toString(), "--master", url,
                "--conf", "spark.executor.memory=1g", "--conf", "spark.driver.host=127.0.0.1", conf.toString()), env);
        assertTrue(submit.waitFor(300, TimeUnit.SECONDS), "the submitted job finished within 5 minutes");
        String log = Files.readString(dir.resolve("submit.log"));
        assertEquals(0, submit.exitValue(), log);
        assertTrue(log.contains("sparkprop: done;"), log);

        Path localOut = dir.resolve("local-out");
        SparkSession spark = SparkTestSupport.start(StandaloneClusterIT.class);
        try {
            TrainJob.run(JobConfig.parse(job(localOut)), spark);
            double[] local = ((MlpModel<?>) PipelineModel.load(localOut.resolve("model").toString()).stages()[0])
                    .parameters().toFlat();
            double[] cluster = ((MlpModel<?>) PipelineModel.load(clusterOut.resolve("model").toString()).stages()[0])
                    .parameters().toFlat();
            assertArrayEquals(local, cluster, 0.0);
        } finally {
            spark.stop();
        }
    }
}
