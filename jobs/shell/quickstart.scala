// sparkprop from spark-shell:
//   spark-shell --jars target/sparkprop-<version>.jar -i jobs/shell/quickstart.scala
// The script also runs in a plain Scala 2.13 REPL with the Spark jars and sparkprop on the class
// path: it makes its session itself (in spark-shell, getOrCreate returns the shell's).
import org.apache.spark.sql.SparkSession
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator
import io.sparkprop.data.Samples
import io.sparkprop.ml.MlpClassifier
import scala.jdk.CollectionConverters._

val spark = SparkSession.builder().master("local[2]").appName("sparkprop quickstart")
  .config("spark.ui.enabled", "false").getOrCreate()
spark.sparkContext.setLogLevel("WARN")

// the 10,000 Fashion-MNIST images bundled in the jar: features (784 pixels in [0, 1]) and label 0-9
val Array(train, test) = Samples.fashionMnist(spark).repartition(2).randomSplit(Array(0.8, 0.2), 7L)

val mlp = new MlpClassifier()
  .setHiddenLayers(Array(128))
  .setStepSize(0.002)
  .setBatchSize(256)
  .setMaxEpochs(8)
val model = mlp.fit(train)

val accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy")
  .evaluate(model.transform(test))
println(f"sparkprop quickstart: test accuracy $accuracy%.4f after ${model.summary.totalEpochs} epochs")
println("loss per epoch: " + model.summary.epochs.asScala.map(e => f"${e.loss}%.4f").mkString(", "))
spark.stop()
