package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.sparkprop.data.Example;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(LocalSpark.class)
class CheckpointTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(4).dense(6, Activation.TANH)
            .dense(3, Activation.SOFTMAX).build();

    @TempDir
    Path dir;

    private static Trainer trainer(Optimizer optimizer) {
        return new Trainer(SPEC).setOptimizer(optimizer).setBatchSize(50).setTol(0).setSeed(5);
    }

    /** An interrupted run resumed from its newest checkpoint ends bit-identical to an uninterrupted one. */
    @Test
    void resumingEqualsAnUninterruptedRun() throws IOException {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(300, 4), 2);
        for (Optimizer optimizer : new Optimizer[] {Optimizer.adam(0.01).withDecay(0.01), Optimizer.nesterov(0.05, 0.9)}) {
            double[] uninterrupted = trainer(optimizer).setMaxEpochs(5).fit(data).parameters().toFlat();
            String folder = dir.resolve("ckpt-" + optimizer.kind()).toString();
            // "crash" after epoch 3: checkpoints after epochs 2 only (every 2), epoch 3 is lost
            trainer(optimizer).setMaxEpochs(3).setCheckpointing(folder, 2, false).fit(data);
            assertTrue(Files.exists(Path.of(folder, "epoch-000002.ckpt")));
            assertFalse(Files.exists(Path.of(folder, "epoch-000003.ckpt")));
            // a write interrupted half-way leaves only a temporary file, which resuming ignores
            Files.writeString(Path.of(folder, ".epoch-000004.ckpt.tmp-123"), "half");
            TrainingResult resumed = trainer(optimizer).setMaxEpochs(5).setCheckpointing(folder, 2, true)
                    .fit(data);
            assertArrayEquals(uninterrupted, resumed.parameters().toFlat(), 0.0, optimizer.toString());
            assertEquals(3, resumed.history().epochs().size(), "epochs 3 (lost in the crash), 4 and 5 were run");
            assertFalse(Files.exists(Path.of(folder, ".epoch-000004.ckpt.tmp-123")));
        }
    }

    @Test
    void aCheckpointOfAnotherNetworkIsRefused() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(100, 4), 2);
        String folder = dir.resolve("other").toString();
        trainer(Optimizer.adam(0.01)).setMaxEpochs(1).setCheckpointing(folder, 1, false).fit(data);
        NetworkSpec wider = NetworkSpec.builder().input(4).dense(9, Activation.TANH).dense(3, Activation.SOFTMAX).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(wider).setMaxEpochs(2).setCheckpointing(folder, 1, true).fit(data));
        assertTrue(e.getMessage().endsWith("is of a network with layer sizes [4, 6, 3], this run trains [4, 9, 3]: use "
                + "another checkpoint folder or resume=false"), e.getMessage());
    }
}
