package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.ridge.RidgeSolution;
import io.sparkprop.ridge.RidgeSolver;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
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
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(LocalSpark.class)
class RidgeRegressionTest {
    private static SparkSession spark;
    private static Dataset<Row> data;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        StructType schema = new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
                .add("c", DataTypes.DoubleType).add("y", DataTypes.DoubleType).add("w", DataTypes.DoubleType)
                .add("pair", SQLDataTypes.VectorType());
        SplittableRandom random = new SplittableRandom(2);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            double a = random.nextDouble();
            double b = 3 * random.nextDouble() - 1;
            double c = random.nextDouble() * a;
            double noise = 0.1 * (random.nextDouble() - 0.5);
            rows.add(RowFactory.create(a, b, c, 2 * a - b + 0.5 * c + 1 + noise, 0.5 + random.nextDouble(),
                    Vectors.dense(a + b + noise, 3 - c)));
        }
        data = new VectorAssembler().setInputCols(new String[] {"a", "b", "c"}).setOutputCol("features")
                .transform(spark.createDataFrame(rows, schema)).cache();
    }

    @Test
    void fitsTheClosedFormAndPredicts() {
        RidgeRegressionModel model = new RidgeRegression().setLabelCol("y").setWeightCol("w").setRegParam(0.01)
                .fit(data);
        RidgeSolution direct = new RidgeSolver().setRegParam(0.01).fit(data, "features", "y", "w");
        assertArrayEquals(direct.coefficients(0), model.coefficients().toArray(), 1e-12);
        assertEquals(direct.intercepts()[0], model.intercept(), 1e-12);
        assertTrue(model.hasSummary());
        assertTrue(model.summary().r2()[0] > 0.99);
        for (Row r : model.transform(data).select("features", "prediction").collectAsList()) {
            double[] x = ((Vector) r.get(0)).toArray();
            double expected = model.intercept();
            for (int j = 0; j < 3; j++) {
                expected += model.coefficients().apply(j) * x[j];
            }
            assertEquals(expected, r.getDouble(1), 1e-12);
        }
        assertEquals(3, model.numFeatures());
    }

    /** Solver sgd in float32: the float64 run's coefficients to float accuracy, the precision in the summary. */
    @Test
    void theSgdSolverTrainsInFloat32() {
        RidgeRegression sgd = new RidgeRegression().setLabelCol("y").setRegParam(0.01).setSolver("sgd");
        RidgeRegressionModel f64 = sgd.fit(data);
        RidgeRegressionModel f32 = sgd.setPrecision("float32").fit(data);
        assertEquals("float32", f32.summary().precision());
        assertEquals("float64", f64.summary().precision());
        assertArrayEquals(f64.coefficients().toArray(), f32.coefficients().toArray(), 1e-4);
        assertEquals(f64.intercept(), f32.intercept(), 1e-4);
        assertEquals(f64.summary().r2()[0], f32.summary().r2()[0], 1e-6);
    }

    @Test
    void vectorLabelsGiveSeveralOutputs() {
        RidgeRegressionModel model = new RidgeRegression().setLabelCol("pair").setRegParam(0.001).fit(data);
        assertEquals(2, model.numOutputs());
        assertEquals(2, model.coefficientMatrix().numRows());
        assertEquals(3, model.coefficientMatrix().numCols());
        assertEquals(3.0, model.intercepts().apply(1), 0.05);
        IllegalStateException e = assertThrows(IllegalStateException.class, model::coefficients);
        assertEquals("this model has 2 outputs; coefficients is for one output, use coefficientMatrix()",
                e.getMessage());
        Row first = model.transform(data).select("prediction").first();
        assertEquals(2, ((Vector) first.get(0)).size());
    }

    @Test
    void savesAndLoadsAloneAndInPipelines() throws IOException {
        RidgeRegression ridge = new RidgeRegression().setLabelCol("y").setRegParam(0.1).setStandardization(true);
        String path = dir.resolve("ridge").toString();
        ridge.save(path);
        RidgeRegression loadedEstimator = RidgeRegression.load(path);
        assertEquals(ridge.explainParams(), loadedEstimator.explainParams());

        RidgeRegressionModel model = ridge.fit(data);
        model.save(path + "-model");
        RidgeRegressionModel loaded = RidgeRegressionModel.load(path + "-model");
        assertEquals(model.uid(), loaded.uid());
        assertArrayEquals(model.coefficients().toArray(), loaded.coefficients().toArray(), 0.0);
        assertEquals(model.intercept(), loaded.intercept(), 0.0);
        assertFalse(loaded.hasSummary());

        PipelineModel pipeline = new Pipeline().setStages(new PipelineStage[] {
            new VectorAssembler().setInputCols(new String[] {"a", "c"}).setOutputCol("ac"),
            new RidgeRegression().setFeaturesCol("ac").setLabelCol("y")}).fit(data);
        pipeline.save(path + "-pipeline");
        PipelineModel loadedPipeline = PipelineModel.load(path + "-pipeline");
        assertEquals(pipeline.transform(data).select("prediction").collectAsList(),
                loadedPipeline.transform(data).select("prediction").collectAsList());
    }

    @Test
    void badColumnsAndValuesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RidgeRegression().setLabelCol("nope").fit(data));
        assertTrue(e.getMessage().startsWith("label column 'nope' does not exist; available columns: a, b, c, y"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new RidgeRegression().setRegParam(-1));
        assertTrue(e.getMessage().contains("regParam given invalid value -1.0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new RidgeRegression().setSolver("lbfgs"));
        assertTrue(e.getMessage().contains("solver given invalid value lbfgs"), e.getMessage());
    }
}
