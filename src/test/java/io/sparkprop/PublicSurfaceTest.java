package io.sparkprop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import io.sparkprop.train.Trainer;
import io.sparkprop.util.Internal;
import org.junit.jupiter.api.Test;

/**
 * The public surface is what the README lists, and nothing else: every public top-level type of the library is
 * either listed here (and in the README's "Layout" section) or marked {@link Internal}.
 */
class PublicSurfaceTest {
    /** The README's list of the public surface. */
    private static final Set<String> PUBLIC = new TreeSet<>(Set.of(
            "data.DataFrames", "data.Example", "data.Samples", "data.SparseSynthetic",
            "job.JobConfig", "job.TrainJob",
            "linalg.GemmBackend", "linalg.Precision",
            "ml.HasMlpParams", "ml.MlpClassificationModel", "ml.MlpClassifier", "ml.MlpEstimator", "ml.MlpModel",
            "ml.MlpRegressionModel", "ml.MlpRegressor", "ml.MlpTrainingSummary", "ml.RidgeRegression",
            "ml.RidgeRegressionModel", "ml.RidgeTrainingSummary", "ml.OnnxPipeline",
            "nn.Activation", "nn.GradientSum", "nn.Loss", "nn.NetworkSpec", "nn.Parameters",
            "optim.Optimizer", "optim.StepSchedule",
            "ridge.RidgeSettings", "ridge.RidgeSolution", "ridge.RidgeSolver",
            "train.ClassWeights", "train.EpochListener", "train.EpochRecord", "train.IterationRecord",
            "train.MlpSettings", "train.Trainer", "train.TrainingDivergedException", "train.TrainingHistory",
            "train.TrainingResult",
            "util.Internal"));

    @Test
    void everyPublicTypeIsListedOrMarkedInternal() throws IOException, URISyntaxException, ClassNotFoundException {
        Path classes = Paths.get(Trainer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path root = classes.resolve("io/sparkprop");
        Set<String> unmarked = new TreeSet<>();
        Set<String> internal = new TreeSet<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String file = root.relativize(p).toString();
                if (!file.endsWith(".class") || file.contains("$") || file.endsWith("package-info.class")) {
                    continue;
                }
                String name = file.substring(0, file.length() - ".class".length()).replace('/', '.');
                Class<?> c = Class.forName("io.sparkprop." + name, false, getClass().getClassLoader());
                if (!Modifier.isPublic(c.getModifiers())) {
                    continue;
                }
                (c.isAnnotationPresent(Internal.class) ? internal : unmarked).add(name);
            }
        }
        assertEquals(PUBLIC, unmarked, "public types neither listed as the public surface nor marked @Internal");
        for (String name : internal) {
            assertTrue(!PUBLIC.contains(name), name + " is listed as public and marked @Internal");
        }
    }

    /** The executor-side package holds no public surface: all that runs inside Spark's tasks is internal. */
    @Test
    void theExecutorSideIsInternal() throws ClassNotFoundException {
        for (String name : new String[] {"Shard", "ShardPacker", "PackedData", "OrderedTreeAggregate", "BlockScorer",
            "BatchGradient", "LocalSteps", "HeldOutLoss", "Shipped", "SparkJobs", "SparseRows"}) {
            assertTrue(Class.forName("io.sparkprop.exec." + name).isAnnotationPresent(Internal.class), name);
        }
    }
}
