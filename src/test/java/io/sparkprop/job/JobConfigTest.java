package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.Properties;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobConfigTest {
    @TempDir
    Path dir;

    private static Properties minimal() {
        Properties p = new Properties();
        p.setProperty("data.format", "sample");
        p.setProperty("model.type", "mlp-classifier");
        p.setProperty("output.dir", "out");
        return p;
    }

    private static String rejection(Properties p) {
        return assertThrows(IllegalArgumentException.class, () -> JobConfig.parse(p)).getMessage();
    }

    @Test
    void defaultsFillWhatIsNotSet() {
        JobConfig c = JobConfig.parse(minimal());
        assertEquals(256, c.integer("train.batchSize"));
        assertArrayEquals(new int[] {64}, c.integers("model.hidden"));
        assertEquals("local[*]", c.string("spark.master"));
        Properties p = minimal();
        p.setProperty("model.hidden", " 256, 128 ");
        p.setProperty("spark.conf.spark.driver.memory", "2g");
        c = JobConfig.parse(p);
        assertArrayEquals(new int[] {256, 128}, c.integers("model.hidden"));
        assertEquals("2g", c.sparkConf().get("spark.driver.memory"));
    }

    /**
     * A job's session takes the job's Spark defaults where neither spark-submit nor the job file names the key: a
     * user's {@code --conf spark.task.maxDirectResultSize=128m} stands (the job used to set 64m over it).
     */
    @Test
    void theJobsSparkDefaultsGiveWayToSubmittedAndJobFileSettings() {
        SparkConf nothing = new SparkConf(false);
        Map<String, String> s = TrainJob.sparkSettings(JobConfig.parse(minimal()), nothing);
        assertEquals(Map.of("spark.task.maxDirectResultSize", "64m", "spark.broadcast.compress", "false"), s);

        SparkConf submitted = new SparkConf(false).set("spark.task.maxDirectResultSize", "128m");
        s = TrainJob.sparkSettings(JobConfig.parse(minimal()), submitted);
        assertEquals(Map.of("spark.broadcast.compress", "false"), s);

        Properties p = minimal();
        p.setProperty("spark.conf.spark.broadcast.compress", "true");
        p.setProperty("spark.conf.spark.driver.memory", "2g");
        s = TrainJob.sparkSettings(JobConfig.parse(p), nothing);
        assertEquals(Map.of("spark.task.maxDirectResultSize", "64m", "spark.broadcast.compress", "true",
                "spark.driver.memory", "2g"), s);
    }

    @Test
    void unknownKeysSuggestTheNearestOne() {
        Properties p = minimal();
        p.setProperty("train.stepsize", "0.1");
        assertEquals("unknown key 'train.stepsize'; did you mean 'train.stepSize'?", rejection(p));
        p = minimal();
        p.setProperty("model.hiden", "8");
        assertEquals("unknown key 'model.hiden'; did you mean 'model.hidden'?", rejection(p));
    }

    @Test
    void missingKeysAndBadValuesNameTheKeyAndTheForm() {
        Properties p = minimal();
        p.remove("model.type");
        assertEquals("missing required key model.type (one of mlp-classifier, mlp-regressor, ridge)", rejection(p));
        p = minimal();
        p.setProperty("train.batchSize", "-1");
        assertEquals("key train.batchSize: expected an integer >= 0, found '-1'", rejection(p));
        p = minimal();
        p.setProperty("train.stepSize", "fast");
        assertEquals("key train.stepSize: expected a number > 0, found 'fast'", rejection(p));
        p = minimal();
        p.setProperty("model.hidden", "128,0");
        assertEquals("key model.hidden: expected comma-separated widths > 0, or empty, found '128,0'", rejection(p));
        p = minimal();
        p.setProperty("data.format", "idx");
        assertEquals("data.format idx needs data.path (a path)", rejection(p));
        p = minimal();
        p.setProperty("train.patience", "3");
        assertEquals("train.patience 3 needs split.validation > 0 (a fraction in [0, 1))", rejection(p));
        p = minimal();
        p.setProperty("data.format", "synthetic");
        assertEquals("data.format synthetic makes regression data: model.type must be ridge or mlp-regressor, "
                + "found mlp-classifier", rejection(p));
    }

    @Test
    void fileErrorsNameTheFile() throws IOException {
        Path file = dir.resolve("bad.properties");
        Files.writeString(file, "data.format = sample\nmodel.type = mlp-classifier\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobConfig.load(file));
        assertEquals(file + ": missing required key output.dir (a path)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobConfig.load(dir.resolve("none.properties")));
        assertTrue(e.getMessage().startsWith("cannot read config " + dir.resolve("none.properties")), e.getMessage());
    }

    @Test
    void theShippedConfigsAreValid() {
        for (String name : new String[] {"quickstart", "fashion-mnist-mlp", "fashion-mnist-recipe", "ridge-synthetic"}) {
            JobConfig.load(Paths.get("conf", name + ".properties"));
        }
    }

    @Test
    void theReadmeDocumentsEveryKey() throws IOException {
        String readme = Files.readString(Paths.get("README.md"));
        for (JobConfig.Key key : JobConfig.KEYS.values()) {
            // the whole row, so that the README's defaults cannot drift from the code's
            assertTrue(readme.contains(JobConfig.readmeRow(key)), "README table row for " + key.name()
                    + ", expected: " + JobConfig.readmeRow(key));
        }
    }

    /** Properties keeps the last of a repeated key silently; the job refuses it, naming both lines. */
    @Test
    void aKeyGivenTwiceIsRefusedNamingBothLines() throws IOException {
        Path file = dir.resolve("twice.properties");
        Files.writeString(file, "# two model types\nmodel.type = mlp-classifier\ndata.format=sample\n"
                + "output.dir=out\nmodel.type: ridge\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobConfig.load(file));
        assertEquals(file + ": key model.type is given more than once (lines 2 and 5): keep one", e.getMessage());
    }
}
