import java.util.ArrayList;
import java.util.List;

import io.sparkprop.data.Example;
import io.sparkprop.ml.MlpClassificationModel;
import io.sparkprop.ml.MlpClassifier;
import io.sparkprop.ml.RidgeRegression;
import io.sparkprop.ml.RidgeRegressionModel;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.ridge.RidgeSettings;
import io.sparkprop.ridge.RidgeSolution;
import io.sparkprop.ridge.RidgeSolver;
import io.sparkprop.train.MlpSettings;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Matrix;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A user's program, compiled against the shaded jar and Spark's jars alone: every type it names from a
 * sparkprop signature must be sparkprop's or Spark's (or the JDK's), never a relocated library's.
 */
public class UserProgram {
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("public API")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            List<Example> examples = new ArrayList<>();
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                double a = (i % 20) / 10.0 - 1;
                double b = (i / 20) / 10.0 - 1;
                double y = 2 * a - b + 0.5;
                examples.add(Example.of(new double[] {a, b}, y));
                rows.add(RowFactory.create(Vectors.dense(a, b), y, a > b ? 1.0 : 0.0));
            }
            JavaRDD<Example> rdd = sc.parallelize(examples, 2).repartition(2);

            NetworkSpec spec = NetworkSpec.builder().input(2).dense(1, Activation.IDENTITY).build();
            MlpSettings settings = MlpSettings.builder().optimizer("adam").stepSize(0.05).batchSize(0).maxEpochs(50)
                    .build();
            TrainingResult result = new Trainer(spec, settings).fit(rdd);
            Parameters p = result.parameters();
            Matrix w = p.weights(0);
            Vector b = p.biases(0);

            RidgeSolution ridge = new RidgeSolver(RidgeSettings.builder().regParam(1e-9).build()).fit(rdd);
            Matrix coefficients = ridge.coefficients();

            StructType schema = new StructType().add("features", SQLDataTypes.VectorType())
                    .add("y", DataTypes.DoubleType).add("label", DataTypes.DoubleType);
            Dataset<Row> frame = spark.createDataFrame(rows, schema);
            MlpClassifier classifier = new MlpClassifier().setHiddenLayers(new int[] {4}).setMaxEpochs(2)
                    .setBatchSize(64);
            MlpClassificationModel model = classifier.fit(frame);
            RidgeRegressionModel linear = new RidgeRegression().setLabelCol("y").fit(frame);

            System.out.printf("public API ok: mlp w %s b %s; ridge %s; classifier %d classes, %d epochs; "
                            + "ridge model %s%n", w.toArray().length, b.size(), coefficients.numCols(),
                    model.numClasses(), model.summary().epochs().size(), linear.coefficients());
        } finally {
            spark.stop();
        }
    }
}
