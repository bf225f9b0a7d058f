package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Properties;

import io.sparkprop.testutil.ChildJvm;
import org.junit.jupiter.api.Test;
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

    /**
     * Ridge's two solvers and the classifier; the regressor's job runs from the shaded jar in {@link
     * StandaloneClusterIT}, submitted to a cluster with it.
     */
    @ParameterizedTest
    @CsvSource({"ridge, normal", "ridge, sgd", "mlp-classifier, normal"})
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

    /**
     * The shaded jar registers the estimators and models for the Spark Connect server's ML handler: Java's
     * {@code ServiceLoader}, over the shaded jar and Spark's jars alone, finds and instantiates each of them,
     * as the server does (its no-argument constructor is what {@code ServiceLoader} calls).
     */
    @Test
    void theShadedJarRegistersTheStagesForSparkConnect() throws Exception {
        List<java.net.URL> urls = new java.util.ArrayList<>();
        urls.add(Paths.get(System.getProperty("sparkprop.jar")).toUri().toURL());
        try (var jars = Files.list(Paths.get(System.getProperty("sparkprop.sparkHome"), "jars"))) {
            for (Path jar : (Iterable<Path>) jars.sorted()::iterator) {
                urls.add(jar.toUri().toURL());
            }
        }
        try (java.net.URLClassLoader loader = new java.net.URLClassLoader(urls.toArray(new java.net.URL[0]),
                ClassLoader.getPlatformClassLoader())) {
            for (String[] kind : new String[][] {
                    {"org.apache.spark.ml.Estimator", "MlpClassifier", "MlpRegressor", "RidgeRegression"},
                    {"org.apache.spark.ml.Transformer", "MlpClassificationModel", "MlpRegressionModel",
                            "RidgeRegressionModel"}}) {
                Class<?> service = Class.forName(kind[0], false, loader);
                List<String> found = new java.util.ArrayList<>();
                java.util.ServiceLoader.load(service, loader).stream().forEach(provider -> {
                    if (provider.type().getName().startsWith("io.sparkprop.")) {
                        found.add(provider.get().getClass().getName());
                    }
                });
                for (int i = 1; i < kind.length; i++) {
                    assertTrue(found.contains("io.sparkprop.ml." + kind[i]), kind[0] + ": " + found);
                }
            }
        }
    }

    /**
     * The public API names no relocated type: a user's program ({@code public-api/UserProgram.java}, using
     * the trainer, the settings, the ridge solver, the estimators and what they return) compiles against the
     * shaded jar and Spark's jars alone, and runs.
     */
    @Test
    void aUserProgramCompilesAgainstTheShadedJarAlone() throws Exception {
        Path source = dir.resolve("UserProgram.java");
        try (var in = ShadedJarIT.class.getResourceAsStream("/public-api/UserProgram.java")) {
            Files.copy(in, source);
        }
        StringBuilder classPath = new StringBuilder(System.getProperty("sparkprop.jar"));
        try (var jars = Files.list(Paths.get(System.getProperty("sparkprop.sparkHome"), "jars"))) {
            // EJML is a dependency of ours only, shaded; none of Spark's jars may bring it back
            for (Path jar : (Iterable<Path>) jars.sorted()::iterator) {
                assertFalse(jar.getFileName().toString().startsWith("ejml"), jar.toString());
                classPath.append(File.pathSeparator).append(jar);
            }
        }
        Path classes = Files.createDirectories(dir.resolve("classes"));
        java.io.StringWriter diagnostics = new java.io.StringWriter();
        boolean compiled = javax.tools.ToolProvider.getSystemJavaCompiler().getTask(diagnostics, null, null,
                List.of("-classpath", classPath.toString(), "-d", classes.toString(), "-Xlint:none"), null,
                javax.tools.ToolProvider.getSystemJavaCompiler().getStandardFileManager(null, null, null)
                        .getJavaFileObjects(source.toFile())).call();
        assertTrue(compiled, diagnostics.toString());
        List<String> command = ChildJvm.command("1g", classes + File.pathSeparator + classPath, "UserProgram");
        String output = ChildJvm.runToSuccess(new ProcessBuilder(command), dir.resolve("user.log"), 5,
                "the user program");
        assertTrue(output.contains("public API ok: mlp w 2 b 1; ridge 2; classifier 2 classes, 2 epochs"), output);
    }
}
