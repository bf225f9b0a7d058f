package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import io.sparkprop.testutil.SparkTestSupport;
import org.apache.spark.connect.proto.Command;
import org.apache.spark.connect.proto.ConfigRequest;
import org.apache.spark.connect.proto.ExecutePlanRequest;
import org.apache.spark.connect.proto.ExecutePlanResponse;
import org.apache.spark.connect.proto.Expression;
import org.apache.spark.connect.proto.Fetch;
import org.apache.spark.connect.proto.KeyValue;
import org.apache.spark.connect.proto.MlCommand;
import org.apache.spark.connect.proto.MlCommandResult;
import org.apache.spark.connect.proto.MlOperator;
import org.apache.spark.connect.proto.MlParams;
import org.apache.spark.connect.proto.MlRelation;
import org.apache.spark.connect.proto.ObjectRef;
import org.apache.spark.connect.proto.Plan;
import org.apache.spark.connect.proto.Read;
import org.apache.spark.connect.proto.Relation;
import org.apache.spark.connect.proto.SparkConnectServiceGrpc;
import org.apache.spark.connect.proto.UserContext;
import org.apache.spark.connect.proto.WriteOperation;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connect.common.LiteralValueProtoConverter;
import org.apache.spark.sql.connect.service.SparkConnectService;
import org.apache.spark.sql.connect.service.SparkConnectService$;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkproject.connect.grpc.ManagedChannel;
import org.sparkproject.connect.grpc.StatusRuntimeException;
import org.sparkproject.connect.grpc.netty.NettyChannelBuilder;

/**
 * The estimators and models through a real Spark Connect server: the server runs in this JVM on loopback
 * ({@code SparkConnectService.start}), and the test is its gRPC client, sending the messages a PySpark Connect
 * client sends for {@code fit}, {@code transform}, {@code model.summary}, {@code save} and {@code load}
 * ({@code MlCommand} and {@code MlRelation} in plans). The server finds the classes through the jar's
 * {@code META-INF/services} and builds them with their {@code (String uid)} constructors, as it does MLlib's.
 * Every result is compared with the same call made in-process on the same rows.
 */
class SparkConnectTest {
    private static SparkSession spark;
    private static ManagedChannel channel;
    private static SparkConnectServiceGrpc.SparkConnectServiceBlockingStub stub;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        // port 0: the server binds a free port on loopback, read back below
        spark = SparkTestSupport.start(SparkConnectTest.class, Map.of("spark.connect.grpc.binding.address",
                "127.0.0.1", "spark.connect.grpc.binding.port", "0"));
        SparkConnectService.start(spark.sparkContext());
        int port = SparkConnectService$.MODULE$.localPort();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        stub = SparkConnectServiceGrpc.newBlockingStub(channel);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow();
            channel.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        SparkConnectService.stop(scala.Option.empty(), scala.Option.empty());
        if (spark != null) {
            spark.stop();
        }
    }

    @Test
    void aClassifierFitsScoresSavesAndLoadsOverConnectAsInProcess() throws Exception {
        String data = write("classes", classRows(360, 11L));
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("hiddenLayers", new int[] {7});
        params.put("maxEpochs", 12);
        params.put("batchSize", 16);
        params.put("seed", 5L);
        params.put("localSteps", "auto");
        params.put("optimizer", "adam");
        Client client = new Client();

        String model = client.fit(MlpClassifier.class, params, data);
        MlpClassificationModel local = fitInProcess(new MlpClassifier(), params, data);

        // the scores: written by the server as a Connect client's transform(...).write.parquet(...) would
        List<Row> remote = client.transformAndRead(model, data, "classes-scored");
        List<Row> expected = sortById(local.transform(spark.read().parquet(data)));
        assertScoresEqual(expected, remote, "rawPrediction", "probability", "prediction");

        // model.summary.objectiveHistory / totalIterations: through the server's allowed attributes
        String summary = client.fetch(model, "summary").getSummary();
        assertFalse(summary.isEmpty(), "a summary reference");
        assertArrayEquals(local.summary().lossHistory(), doubles(client.fetch(summary, "objectiveHistory").getParam()));
        assertEquals(local.summary().lossHistory().length,
                client.fetch(summary, "totalIterations").getParam().getInteger());
        assertTrue(client.fetch(model, "hasSummary").getParam().getBoolean());

        // model.write().save(path) by the server, then load by the server and in-process
        String saved = dir.resolve("classifier-model").toString();
        client.save(model, saved);
        String loaded = client.load(MlpClassificationModel.class, saved);
        assertScoresEqual(expected, client.transformAndRead(loaded, data, "classes-reloaded"),
                "rawPrediction", "probability", "prediction");
        MlpClassificationModel loadedHere = MlpClassificationModel.load(saved);
        assertScoresEqual(expected, sortById(loadedHere.transform(spark.read().parquet(data))),
                "rawPrediction", "probability", "prediction");
        assertArrayEquals(new int[] {7}, loadedHere.getHiddenLayers());

        // the estimator itself, with its params: saved and loaded by the server, and loaded in-process
        String estimator = dir.resolve("classifier-estimator").toString();
        client.saveEstimator(MlpClassifier.class, params, estimator);
        MlCommandResult.MlOperatorInfo read = client.loadEstimator(MlpClassifier.class, estimator);
        assertArrayEquals(new int[] {7}, ints(read.getParams().getParamsMap().get("hiddenLayers")));
        assertEquals("auto", read.getParams().getParamsMap().get("localSteps").getString());
        MlpClassifier estimatorHere = MlpClassifier.load(estimator);
        assertEquals(12, estimatorHere.getMaxEpochs());
        assertEquals(5L, estimatorHere.getSeed());
    }

    @Test
    void aRegressorAndRidgeFitOverConnectAsInProcess() throws Exception {
        String data = write("regression", regressionRows(300, 23L));
        Client client = new Client();

        Map<String, Object> mlp = new LinkedHashMap<>();
        mlp.put("hiddenLayers", new int[] {5});
        mlp.put("activation", "tanh");
        mlp.put("maxEpochs", 10);
        mlp.put("seed", 3L);
        String regressor = client.fit(MlpRegressor.class, mlp, data);
        MlpRegressionModel regressorHere = fitInProcess(new MlpRegressor(), mlp, data);
        assertScoresEqual(sortById(regressorHere.transform(spark.read().parquet(data))),
                client.transformAndRead(regressor, data, "mlp-scored"), "prediction");

        Map<String, Object> ridge = new LinkedHashMap<>();
        ridge.put("regParam", 0.25);
        ridge.put("standardization", false);
        String ridgeModel = client.fit(RidgeRegression.class, ridge, data);
        RidgeRegressionModel ridgeHere = fitInProcess(new RidgeRegression(), ridge, data);
        assertScoresEqual(sortById(ridgeHere.transform(spark.read().parquet(data))),
                client.transformAndRead(ridgeModel, data, "ridge-scored"), "prediction");
        String saved = dir.resolve("ridge-model").toString();
        client.save(ridgeModel, saved);
        assertEquals(ridgeHere.coefficients(), RidgeRegressionModel.load(saved).coefficients());
    }

    @Test
    void aModelOffloadedByTheServersCacheComesBackWithItsSummary() throws Exception {
        // a per-session cache of 3 KB holds one of these models (195 parameters, 1,560 bytes: 2 KB in the
        // cache's count) but not two: fitting the second writes the first to the server's disk and drops it
        // (saveToLocal, with saveSummary); using the first reads it back (loadFromLocal)
        String data = write("offloaded", classRows(200, 31L));
        Client client = new Client();
        client.setConf("spark.connect.session.connectML.mlCache.memoryControl.maxInMemorySize", "3072");
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("hiddenLayers", new int[] {24});
        params.put("maxEpochs", 4);
        params.put("seed", 9L);
        String first = client.fit(MlpClassifier.class, params, data);
        MlpClassificationModel local = fitInProcess(new MlpClassifier(), params, data);
        assertEquals(1560, local.estimatedSize());
        params.put("seed", 10L);
        client.fit(MlpClassifier.class, params, data);

        assertScoresEqual(sortById(local.transform(spark.read().parquet(data))),
                client.transformAndRead(first, data, "offloaded-scored"), "rawPrediction", "probability", "prediction");
        // as for Spark's own models, a model read back has no summary until the client asks the server to
        // restore it (CreateSummary with the training data): ours comes from the file saveSummary wrote
        StatusRuntimeException lost = assertThrows(StatusRuntimeException.class, () -> client.fetch(first, "summary"));
        assertTrue(lost.getMessage().contains("MODEL_SUMMARY_LOST"), lost.getMessage());
        assertTrue(client.createSummary(first, data));
        String summary = client.fetch(first, "summary").getSummary();
        assertArrayEquals(local.summary().lossHistory(), doubles(client.fetch(summary, "objectiveHistory").getParam()));
    }

    @Test
    void badSettingsAndUnknownParamsReachTheClientWithTheirMessages() throws Exception {
        String data = write("bad", classRows(60, 2L));
        Client client = new Client();
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("localSteps", "fast");
        StatusRuntimeException bad = assertThrows(StatusRuntimeException.class,
                () -> client.fit(MlpClassifier.class, params, data));
        assertTrue(String.valueOf(bad.getMessage()).contains("localSteps"), bad.getMessage());

        Map<String, Object> unknown = new LinkedHashMap<>();
        unknown.put("hiddenLayerz", new int[] {3});
        StatusRuntimeException missing = assertThrows(StatusRuntimeException.class,
                () -> client.fit(MlpClassifier.class, unknown, data));
        assertTrue(String.valueOf(missing.getMessage()).contains("hiddenLayerz"), missing.getMessage());

        // an attribute outside the server's list is refused, whatever the model has
        String model = client.fit(MlpClassifier.class, Map.of("maxEpochs", 1, "hiddenLayers", new int[] {2}), data);
        assertThrows(StatusRuntimeException.class, () -> client.fetch(model, "parameters"));
    }

    @Test
    void theJarRegistersEveryEstimatorAndModelWithTheConstructorsTheServerCalls() throws Exception {
        List<String> estimators = services(Estimator.class);
        List<String> transformers = services(Transformer.class);
        assertEquals(List.of(MlpClassifier.class.getName(), MlpRegressor.class.getName(),
                RidgeRegression.class.getName()), estimators);
        assertEquals(List.of(MlpClassificationModel.class.getName(), MlpRegressionModel.class.getName(),
                RidgeRegressionModel.class.getName()), transformers);
        for (String name : concat(estimators, transformers)) {
            Class<?> type = Class.forName(name);
            Params made = (Params) type.getConstructor(String.class).newInstance("uid-of-" + type.getSimpleName());
            assertEquals("uid-of-" + type.getSimpleName(), made.uid());
            type.getConstructor().newInstance();
            type.getMethod("load", String.class);
            type.getMethod("read");
        }
        // a model made so scores nothing, and says why
        MlpClassificationModel empty = new MlpClassificationModel("empty");
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> empty.predict(Vectors.dense(1, 2)));
        assertTrue(refused.getMessage().contains("no trained parameters"), refused.getMessage());
        assertThrows(IllegalStateException.class, () -> new RidgeRegressionModel("empty").coefficients());
        assertThrows(IllegalStateException.class, () -> new MlpRegressionModel().write().save(dir.resolve("x").toString()));
        assertEquals(0, empty.estimatedSize());
    }

    // ---- the client: what a PySpark Connect client puts on the wire -------------------------------------

    /** One Connect session: a session id and user, as a client's {@code SparkSession} holds them. */
    private static final class Client {
        private final String sessionId = UUID.randomUUID().toString();
        private final UserContext user = UserContext.newBuilder().setUserId("sparkprop-test").build();

        String fit(Class<?> estimator, Map<String, Object> params, String parquet) {
            MlCommand fit = MlCommand.newBuilder().setFit(MlCommand.Fit.newBuilder()
                    .setEstimator(MlOperator.newBuilder().setName(estimator.getName())
                            .setUid(estimator.getSimpleName() + "_" + UUID.randomUUID().toString().substring(0, 8))
                            .setType(MlOperator.OperatorType.OPERATOR_TYPE_ESTIMATOR))
                    .setParams(mlParams(params))
                    .setDataset(parquet(parquet))).build();
            return ml(fit).getOperatorInfo().getObjRef().getId();
        }

        MlCommandResult fetch(String ref, String method) {
            return ml(MlCommand.newBuilder().setFetch(Fetch.newBuilder()
                    .setObjRef(ObjectRef.newBuilder().setId(ref))
                    .addMethods(Fetch.Method.newBuilder().setMethod(method))).build());
        }

        /** Asks the server to restore a model's lost summary; whether it had to. */
        boolean createSummary(String ref, String parquet) {
            return ml(MlCommand.newBuilder().setCreateSummary(MlCommand.CreateSummary.newBuilder()
                    .setModelRef(ObjectRef.newBuilder().setId(ref)).setDataset(parquet(parquet))).build())
                    .getParam().getBoolean();
        }

        void save(String ref, String path) {
            ml(MlCommand.newBuilder().setWrite(MlCommand.Write.newBuilder()
                    .setObjRef(ObjectRef.newBuilder().setId(ref)).setPath(path).setShouldOverwrite(true)).build());
        }

        void saveEstimator(Class<?> estimator, Map<String, Object> params, String path) {
            ml(MlCommand.newBuilder().setWrite(MlCommand.Write.newBuilder()
                    .setOperator(MlOperator.newBuilder().setName(estimator.getName()).setUid("saved_estimator")
                            .setType(MlOperator.OperatorType.OPERATOR_TYPE_ESTIMATOR))
                    .setParams(mlParams(params)).setPath(path).setShouldOverwrite(true)).build());
        }

        MlCommandResult.MlOperatorInfo loadEstimator(Class<?> estimator, String path) {
            return ml(MlCommand.newBuilder().setRead(MlCommand.Read.newBuilder()
                    .setOperator(MlOperator.newBuilder().setName(estimator.getName())
                            .setType(MlOperator.OperatorType.OPERATOR_TYPE_ESTIMATOR))
                    .setPath(path)).build()).getOperatorInfo();
        }

        String load(Class<?> model, String path) {
            return ml(MlCommand.newBuilder().setRead(MlCommand.Read.newBuilder()
                    .setOperator(MlOperator.newBuilder().setName(model.getName())
                            .setType(MlOperator.OperatorType.OPERATOR_TYPE_MODEL))
                    .setPath(path)).build()).getOperatorInfo().getObjRef().getId();
        }

        /** {@code model.transform(df).write.mode("overwrite").parquet(out)}, then the rows read here by id. */
        List<Row> transformAndRead(String model, String parquet, String name) {
            String out = dir.resolve(name).toString();
            Relation scored = Relation.newBuilder().setMlRelation(MlRelation.newBuilder()
                    .setTransform(MlRelation.Transform.newBuilder()
                            .setObjRef(ObjectRef.newBuilder().setId(model))
                            .setInput(parquet(parquet))
                            .setParams(MlParams.newBuilder()))).build();
            execute(Command.newBuilder().setWriteOperation(WriteOperation.newBuilder()
                    .setInput(scored).setSource("parquet").setPath(out)
                    .setMode(WriteOperation.SaveMode.SAVE_MODE_OVERWRITE)).build());
            return sortById(spark.read().parquet(out));
        }

        void setConf(String key, String value) {
            stub.config(ConfigRequest.newBuilder().setSessionId(sessionId).setUserContext(user)
                    .setOperation(ConfigRequest.Operation.newBuilder().setSet(ConfigRequest.Set.newBuilder()
                            .addPairs(KeyValue.newBuilder().setKey(key).setValue(value)))).build());
        }

        private MlCommandResult ml(MlCommand command) {
            for (ExecutePlanResponse response : execute(Command.newBuilder().setMlCommand(command).build())) {
                if (response.hasMlCommandResult()) {
                    return response.getMlCommandResult();
                }
            }
            throw new AssertionError("the server answered " + command.getCommandCase() + " with no ML result");
        }

        private List<ExecutePlanResponse> execute(Command command) {
            Iterator<ExecutePlanResponse> responses = stub.executePlan(ExecutePlanRequest.newBuilder()
                    .setSessionId(sessionId).setUserContext(user).setOperationId(UUID.randomUUID().toString())
                    .setPlan(Plan.newBuilder().setCommand(command)).build());
            List<ExecutePlanResponse> all = new ArrayList<>();
            responses.forEachRemaining(all::add);
            return all;
        }
    }

    /** The params as a client sends them: each value a literal, its type the one the param declares. */
    private static MlParams mlParams(Map<String, Object> params) {
        MlParams.Builder builder = MlParams.newBuilder();
        params.forEach((name, value) -> builder.putParams(name, LiteralValueProtoConverter.toLiteralProto(value)));
        return builder.build();
    }

    private static Relation parquet(String path) {
        return Relation.newBuilder().setRead(Read.newBuilder().setDataSource(
                Read.DataSource.newBuilder().setFormat("parquet").addPaths(path))).build();
    }

    private static double[] doubles(Expression.Literal literal) {
        if (literal.hasSpecializedArray()) {
            return literal.getSpecializedArray().getDoubles().getValuesList().stream().mapToDouble(Double::doubleValue)
                    .toArray();
        }
        return literal.getArray().getElementsList().stream().mapToDouble(Expression.Literal::getDouble).toArray();
    }

    private static int[] ints(Expression.Literal literal) {
        if (literal.hasSpecializedArray()) {
            return literal.getSpecializedArray().getInts().getValuesList().stream().mapToInt(Integer::intValue)
                    .toArray();
        }
        return literal.getArray().getElementsList().stream().mapToInt(Expression.Literal::getInteger).toArray();
    }

    // ---- in-process: the same fit and scores --------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private static <M extends Model<M>> M fitInProcess(Estimator<M> estimator, Map<String, Object> params,
            String parquet) {
        ParamMap map = new ParamMap();
        params.forEach((name, value) -> map.put(estimator.getParam(name), value));
        return estimator.fit(spark.read().parquet(parquet), map);
    }

    private static void assertScoresEqual(List<Row> expected, List<Row> actual, String... columns) {
        assertEquals(expected.size(), actual.size(), "rows");
        for (int i = 0; i < expected.size(); i++) {
            Row e = expected.get(i);
            Row a = actual.get(i);
            assertEquals(e.getLong(e.fieldIndex("id")), a.getLong(a.fieldIndex("id")));
            for (String column : columns) {
                Object ev = e.get(e.fieldIndex(column));
                Object av = a.get(a.fieldIndex(column));
                if (ev instanceof Vector) {
                    assertArrayEquals(((Vector) ev).toArray(), ((Vector) av).toArray(), 0.0, column + " of row " + i);
                } else {
                    assertEquals(ev, av, column + " of row " + i);
                }
            }
        }
    }

    private static List<Row> sortById(Dataset<Row> rows) {
        return rows.orderBy("id").collectAsList();
    }

    private static String write(String name, List<Row> rows) {
        StructType schema = new StructType().add("id", DataTypes.LongType).add("features", new VectorUDT())
                .add("label", DataTypes.DoubleType);
        String path = dir.resolve(name + ".parquet").toString();
        spark.createDataFrame(rows, schema).repartition(2).write().parquet(path);
        return path;
    }

    /** Three classes around three centres, features of unlike scales (one near 1e3). */
    private static List<Row> classRows(int n, long seed) {
        Random random = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = i % 3;
            rows.add(RowFactory.create((long) i, Vectors.dense(label + random.nextGaussian(),
                    0.01 * (2 - label) + 0.01 * random.nextGaussian(), 1000 + 0.5 * label + random.nextGaussian() * 0.3,
                    random.nextGaussian()), (double) label));
        }
        return rows;
    }

    /** {@code y = 2 x₀ − x₁ + 0.5 x₂ + noise}. */
    private static List<Row> regressionRows(int n, long seed) {
        Random random = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] x = {random.nextGaussian(), random.nextGaussian(), 3 + random.nextGaussian()};
            rows.add(RowFactory.create((long) i, Vectors.dense(x), 2 * x[0] - x[1] + 0.5 * x[2]
                    + 0.1 * random.nextGaussian()));
        }
        return rows;
    }

    private static List<String> services(Class<?> service) throws Exception {
        List<String> names = new ArrayList<>();
        java.util.Enumeration<java.net.URL> files = SparkConnectTest.class.getClassLoader()
                .getResources("META-INF/services/" + service.getName());
        while (files.hasMoreElements()) {
            for (String line : new String(files.nextElement().openStream().readAllBytes(),
                    java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                if (line.trim().startsWith("io.sparkprop.")) {
                    names.add(line.trim());
                }
            }
        }
        return names;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
