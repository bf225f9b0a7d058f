package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Properties;

import io.sparkprop.testutil.ChildJvm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job run from the shaded jar and Spark's jars alone, as spark-submit runs it. In the shaded jar
 * EJML and XChart are relocated; anything Spark serialises (closures, column functions) must still
 * deserialise there, which the tests on unshaded classes cannot show.
 */
class ShadedJarIT {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"ridge, normal", "ridge, sgd", "mlp-regressor, normal", "mlp-classifier, normal"})
    void theJobRunsFromTheShadedJar(String model, String solver) throws Exception {
        Properties p = new Properties();
        if (model.equals("mlp-classifier")) {
            p.setProperty("data.format", "sample");
            p.setProperty("train.maxEpochs", "1");
            p.setProperty("data.scale", "standard");
        } else {
            p.setProperty("data.format", "synthetic");
            p.setProperty("data.synthetic.rows", "3000");
            p.setProperty("data.synthetic.features", "6");
            p.setProperty("train.maxEpochs", "20");
            p.setProperty("train.stepSize", "0.05");
        }
        p.setProperty("model.type", model);
        p.setProperty("ridge.solver", solver);
        p.setProperty("spark.master", "local[2]");
        p.setProperty("output.dir", dir.resolve("out").toString());
        Path conf = dir.resolve("job.properties");
        try (var out = Files.newOutputStream(conf)) {
            p.store(out, "shaded-jar integration test");
        }
        List<String> command = ChildJvm.command("2g", System.getProperty("sparkprop.jar") + File.pathSeparator
                + Paths.get(System.getProperty("sparkprop.sparkHome"), "jars", "*"), TrainJob.class.getName(),
                conf.toString());
        String output = ChildJvm.runToSuccess(new ProcessBuilder(command), dir.resolve("job.log"), 5, "the job");
        assertTrue(output.contains("sparkprop: done;"), output);
        assertTrue(Files.exists(dir.resolve("out").resolve("report.html")), output);
    }
}
