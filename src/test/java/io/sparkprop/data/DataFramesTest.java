package io.sparkprop.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;

import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LocalSpark.class)
class DataFramesTest {
    private static SparkSession spark;
    private static Dataset<Row> df;

    @BeforeAll
    static void start() {
        StructType schema = new StructType()
                .add("features", SQLDataTypes.VectorType())
                .add("label", DataTypes.IntegerType)
                .add("w", DataTypes.DoubleType)
                .add("targets", SQLDataTypes.VectorType())
                .add("name", DataTypes.StringType);
        List<Row> rows = Arrays.asList(
                RowFactory.create(Vectors.dense(1, 2), 1, 2.0, Vectors.dense(0.5, 0.25), "a"),
                RowFactory.create(Vectors.sparse(2, new int[] {1}, new double[] {3}), 0, 1.0, Vectors.dense(1, 0), "b"));
        df = spark.createDataFrame(rows, schema);
    }

    @Test
    void readsNumericAndVectorLabelsAndWeights() {
        List<Example> examples = DataFrames.toExamples(df, "features", "label", "w").collect();
        assertArrayEquals(new double[] {1}, examples.get(0).target());
        assertEquals(2.0, examples.get(0).weight());
        assertArrayEquals(new double[] {0, 3}, examples.get(1).features().toArray());
        List<Example> multi = DataFrames.toExamples(df, "features", "targets", null).collect();
        assertArrayEquals(new double[] {0.5, 0.25}, multi.get(0).target());
        assertEquals(1.0, multi.get(0).weight());
    }

    @Test
    void theTrainerFitsADataFrame() {
        NetworkSpec spec = NetworkSpec.builder().input(2).dense(2, Activation.SOFTMAX).build();
        TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.sgd(0.1)).setBatchSize(0).setMaxEpochs(2)
                .fit(df, "features", "label", "w");
        assertEquals(2, r.numExamples());
        assertEquals(3.0, r.weightSum());
    }

    @Test
    void schemaErrorsNameTheColumn() {
        assertEquals("features column 'f' does not exist; available columns: features, label, w, targets, name",
                assertThrows(IllegalArgumentException.class,
                        () -> DataFrames.toExamples(df, "f", "label", null)).getMessage());
        assertEquals("features column 'name' must be of type vector (use VectorAssembler), found string",
                assertThrows(IllegalArgumentException.class,
                        () -> DataFrames.toExamples(df, "name", "label", null)).getMessage());
        assertEquals("label column 'name' must be numeric, found string",
                assertThrows(IllegalArgumentException.class,
                        () -> DataFrames.toExamples(df, "features", "name", null)).getMessage());
        assertEquals("weight column 'targets' must be numeric, found vector",
                assertThrows(IllegalArgumentException.class,
                        () -> DataFrames.toExamples(df, "features", "label", "targets")).getMessage());
    }
}
