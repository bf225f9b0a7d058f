package io.sparkprop.ml;

import java.util.ArrayList;
import java.util.List;

import io.sparkprop.onnx.OnnxExport;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.feature.StandardScalerModel;

/**
 * ONNX export of a fitted {@link PipelineModel} whose last stage is a sparkprop model ({@link MlpClassificationModel},
 * {@link MlpRegressionModel} or {@link RidgeRegressionModel}), with at most one {@link StandardScalerModel} before it
 * (as the training job builds with {@code data.scale = standard}): the scaler becomes the graph's first nodes,
 * {@code (x − mean)·scale} as Spark computes it, so the file takes the pipeline's raw features. Other stages
 * (assemblers, indexers, …) have no ONNX form here and are refused by name: export the model alone
 * ({@code exportOnnx} on it) and prepare its features outside.
 */
public final class OnnxPipeline {
    private OnnxPipeline() {
    }

    /**
     * Writes {@code pipeline} as an ONNX model to {@code path} (README, "ONNX export").
     *
     * @throws IllegalArgumentException  if a stage has no ONNX form here, or the scaler does not feed the model
     * @throws java.io.UncheckedIOException if the file cannot be written
     */
    public static void export(PipelineModel pipeline, String path) {
        Transformer[] stages = pipeline.stages();
        if (stages.length == 0) {
            throw new IllegalArgumentException("the pipeline has no stages: nothing to export");
        }
        Transformer model = stages[stages.length - 1];
        if (!(model instanceof MlpModel) && !(model instanceof RidgeRegressionModel)) {
            throw new IllegalArgumentException("the pipeline's last stage is a " + model.getClass().getSimpleName()
                    + ", not a sparkprop model: nothing sparkprop can export");
        }
        List<String> refused = new ArrayList<>();
        StandardScalerModel scaler = null;
        for (int i = 0; i < stages.length - 1; i++) {
            if (stages[i] instanceof StandardScalerModel && scaler == null) {
                scaler = (StandardScalerModel) stages[i];
            } else {
                refused.add(stages[i].getClass().getSimpleName());
            }
        }
        if (!refused.isEmpty()) {
            throw new IllegalArgumentException("no ONNX form for the pipeline's stages " + refused + " (only one "
                    + "StandardScalerModel before a sparkprop model is exported): export the model alone with "
                    + "exportOnnx and prepare its features outside");
        }
        OnnxExport.Scaling scaling = scaler == null ? null : scaling(scaler, featuresCol(model));
        if (model instanceof MlpModel) {
            ((MlpModel<?>) model).exportOnnx(path, scaling);
        } else {
            ((RidgeRegressionModel) model).exportOnnx(path, scaling);
        }
    }

    private static String featuresCol(Transformer model) {
        return model.getOrDefault(model.getParam("featuresCol")).toString();
    }

    /** {@code (x − mean)·scale} with {@code scale = 1/std} (0 for a constant feature), as the scaler computes. */
    private static OnnxExport.Scaling scaling(StandardScalerModel scaler, String featuresCol) {
        if (!scaler.getOutputCol().equals(featuresCol)) {
            throw new IllegalArgumentException("the StandardScalerModel writes '" + scaler.getOutputCol()
                    + "', the model reads '" + featuresCol + "': the scaler does not feed the model");
        }
        double[] mean = scaler.getWithMean() ? scaler.mean().toArray() : null;
        double[] scale = null;
        if (scaler.getWithStd()) {
            double[] std = scaler.std().toArray();
            scale = new double[std.length];
            for (int j = 0; j < std.length; j++) {
                scale[j] = std[j] == 0.0 ? 0.0 : 1.0 / std[j];
            }
        }
        return new OnnxExport.Scaling(mean, scale);
    }
}
