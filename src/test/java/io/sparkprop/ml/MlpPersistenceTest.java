package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
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
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(LocalSpark.class)
class MlpPersistenceTest {
    private static SparkSession spark;
    private static Dataset<Row> data;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        StructType schema = new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
                .add("label", DataTypes.DoubleType).add("pair", SQLDataTypes.VectorType());
        SplittableRandom random = new SplittableRandom(8);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            double a = random.nextDouble() * 2 - 1;
            double b = random.nextDouble() * 2 - 1;
            rows.add(RowFactory.create(a, b, a + b > 0 ? 1.0 : 0.0, Vectors.dense(a * b, a - b)));
        }
        data = new VectorAssembler().setInputCols(new String[] {"a", "b"}).setOutputCol("features")
                .transform(spark.createDataFrame(rows, schema)).cache();
    }

    private static List<Row> predictions(Dataset<Row> scored, String... columns) {
        return scored.select("a", columns).orderBy("a").collectAsList();
    }

    @Test
    void estimatorsRoundTripTheirParams() throws IOException {
        MlpClassifier mlp = new MlpClassifier().setHiddenLayers(new int[] {7, 3}).setActivation("tanh")
                .setOptimizer("momentum").setStepSize(0.05).setRegParam(0.01).setWeightCol("w").setSeed(9)
                .setValidationIndicatorCol("held").setPatience(3);
        String path = dir.resolve("classifier").toString();
        mlp.save(path);
        MlpClassifier loaded = MlpClassifier.load(path);
        assertEquals(mlp.uid(), loaded.uid());
        assertEquals(mlp.explainParams(), loaded.explainParams());
        assertArrayEquals(new int[] {7, 3}, loaded.getHiddenLayers());
        assertEquals(0.05, loaded.getStepSize());
        assertEquals("held", loaded.getValidationIndicatorCol());
        assertEquals(3, loaded.getPatience());
        MlpRegressor regressor = new MlpRegressor().setMaxEpochs(3);
        regressor.write().overwrite().save(path + "-r");
        assertEquals(3, MlpRegressor.load(path + "-r").getMaxEpochs());
    }

    @Test
    void modelsRoundTripTheirWeightsParamsAndPredictions() throws IOException {
        MlpClassificationModel model = new MlpClassifier().setHiddenLayers(new int[] {5}).setMaxEpochs(3)
                .fit(data);
        String path = dir.resolve("model").toString();
        model.save(path);
        MlpClassificationModel loaded = MlpClassificationModel.load(path);
        assertEquals(model.uid(), loaded.uid());
        assertEquals(model.spec(), loaded.spec());
        assertArrayEquals(model.parameters().toFlat(), loaded.parameters().toFlat(), 0.0);
        assertEquals(model.explainParams(), loaded.explainParams());
        assertFalse(loaded.hasSummary());
        assertEquals(predictions(model.transform(data), "probability", "prediction"),
                predictions(loaded.transform(data), "probability", "prediction"));

        MlpRegressionModel vector = new MlpRegressor().setLabelCol("pair").setMaxEpochs(2).fit(data);
        vector.save(path + "-vector");
        MlpRegressionModel loadedVector = MlpRegressionModel.load(path + "-vector");
        assertEquals(2, loadedVector.numOutputs());
        assertEquals(predictions(vector.transform(data), "prediction"),
                predictions(loadedVector.transform(data), "prediction"));
    }

    /** A float32 fit gives a model like any other: double weights, its precision in the summary and the params. */
    @Test
    void aFloat32ModelRecordsItsPrecisionAndScoresLikeAnyOther() throws IOException {
        MlpClassificationModel model = new MlpClassifier().setHiddenLayers(new int[] {5}).setMaxEpochs(3)
                .setPrecision("float32").fit(data);
        assertEquals("float32", model.summary().precision());
        assertEquals("float32", model.getPrecision());
        String path = dir.resolve("model32").toString();
        model.save(path);
        MlpClassificationModel loaded = MlpClassificationModel.load(path);
        assertEquals("float32", loaded.getPrecision());
        assertArrayEquals(model.parameters().toFlat(), loaded.parameters().toFlat(), 0.0);
        assertEquals(predictions(model.transform(data), "probability", "prediction"),
                predictions(loaded.transform(data), "probability", "prediction"));
        assertEquals("float64", new MlpClassifier().setHiddenLayers(new int[] {5}).setMaxEpochs(1).fit(data)
                .summary().precision());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MlpClassifier().setPrecision("float16"));
        assertEquals("unknown precision 'float16', expected one of float64, float32", e.getMessage());
    }

    @Test
    void pipelinesWithOurStagesSaveAndLoad() throws IOException {
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
            new StandardScaler().setInputCol("features").setOutputCol("scaled"),
            new MlpClassifier().setFeaturesCol("scaled").setHiddenLayers(new int[] {4}).setMaxEpochs(3)});
        String path = dir.resolve("pipeline").toString();
        pipeline.save(path);
        Pipeline loadedPipeline = Pipeline.load(path);
        assertEquals("scaled", ((MlpClassifier) loadedPipeline.getStages()[1]).getFeaturesCol());

        PipelineModel fitted = loadedPipeline.fit(data);
        fitted.save(path + "-model");
        PipelineModel loaded = PipelineModel.load(path + "-model");
        assertTrue(loaded.stages()[1] instanceof MlpClassificationModel);
        assertEquals(predictions(fitted.transform(data), "rawPrediction", "prediction"),
                predictions(loaded.transform(data), "rawPrediction", "prediction"));
    }

    @Test
    void damagedModelFoldersNameTheFile() throws IOException {
        MlpRegressionModel model = new MlpRegressor().setMaxEpochs(1).fit(data);
        Path folder = dir.resolve("damaged");
        model.save(folder.toString());
        assertThrows(Exception.class, () -> model.save(folder.toString()), "no silent overwrite");

        Path json = folder.resolve("sparkprop.json");
        String original = Files.readString(json);
        Files.writeString(json, original.replace("\"formatVersion\" : 1", "\"formatVersion\" : 99"),
                StandardCharsets.UTF_8);
        Files.deleteIfExists(folder.resolve(".sparkprop.json.crc")); // as a hand edit would leave it
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MlpRegressionModel.load(folder.toString()));
        assertTrue(e.getMessage().contains("sparkprop.json has sparkprop model format 99, this version reads format 1"),
                e.getMessage());
        Files.writeString(json, original, StandardCharsets.UTF_8);
        assertEquals(model.numOutputs(), MlpRegressionModel.load(folder.toString()).numOutputs(), "readable again");

        deleteTree(folder.resolve("data"));
        e = assertThrows(IllegalArgumentException.class, () -> MlpRegressionModel.load(folder.toString()));
        assertTrue(e.getMessage().startsWith("cannot load MlpRegressionModel from " + folder + ": cannot read the "
                + "weights in "), e.getMessage());
        assertTrue(e.getMessage().contains(folder.resolve("data").toString()), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> MlpClassificationModel.load(folder.toString()));
        assertTrue(e.getMessage().startsWith("cannot load MlpClassificationModel from " + folder + ": "),
                e.getMessage());
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    /**
     * {@code localSteps} is {@code auto} or an integer, as text; estimators and models saved when it was an integer
     * param (a JSON number in the metadata) still load, with that number; a bad value is refused when set.
     */
    @Test
    void localStepsIsAutoOrAnIntegerAndOldIntegerMetadataLoads() throws IOException {
        MlpClassifier mlp = new MlpClassifier();
        assertEquals("auto", mlp.getLocalSteps());
        assertEquals("16", mlp.setLocalSteps(16).getLocalSteps());
        assertEquals("auto", mlp.setLocalSteps("auto").getLocalSteps());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mlp.setLocalSteps("fast"));
        assertTrue(e.getMessage().contains("localSteps must be auto or an integer >= 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> mlp.setLocalSteps(0));

        String path = dir.resolve("old-classifier").toString();
        new MlpClassifier().setLocalSteps(8).setMaxEpochs(3).save(path);
        Path metadata;
        try (Stream<Path> files = Files.walk(Path.of(path, "metadata"))) {
            metadata = files.filter(f -> f.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
        String json = Files.readString(metadata, StandardCharsets.UTF_8);
        assertTrue(json.contains("\"localSteps\":\"8\""), json);
        // what an earlier sparkprop wrote: a number
        Files.writeString(metadata, json.replace("\"localSteps\":\"8\"", "\"localSteps\":8"), StandardCharsets.UTF_8);
        try (Stream<Path> crcs = Files.walk(Path.of(path, "metadata"))) {
            for (Path crc : crcs.filter(f -> f.getFileName().toString().endsWith(".crc")).toList()) {
                Files.delete(crc);
            }
        }
        MlpClassifier loaded = MlpClassifier.load(path);
        assertEquals("8", loaded.getLocalSteps());
        assertEquals(3, loaded.getMaxEpochs());
        // and the model a default fit makes records the k it trained with
        MlpClassificationModel model = new MlpClassifier().setHiddenLayers(new int[] {4}).setMaxEpochs(2).fit(data);
        assertEquals("auto", model.getLocalSteps());
        assertEquals(1, model.summary().localSteps(), "a two-epoch fit of 200 rows stays synchronous");
    }
}
