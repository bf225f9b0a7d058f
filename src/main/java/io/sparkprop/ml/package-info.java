/**
 * The Spark ML API: the estimators {@link io.sparkprop.ml.MlpClassifier},
 * {@link io.sparkprop.ml.MlpRegressor} and {@link io.sparkprop.ml.RidgeRegression} and their models,
 * usable as Pipeline stages and inside {@code CrossValidator}, saved and loaded with
 * {@code save}/{@code load} (also through {@code Pipeline.load}). The estimators check columns and params,
 * convert their params to one settings value ({@link io.sparkprop.train.MlpSettings},
 * {@link io.sparkprop.ridge.RidgeSettings}) whose defaults they also take, and hand training to
 * {@link io.sparkprop.train.Trainer} or {@link io.sparkprop.ridge.RidgeSolver}. Held-out validation rows
 * ({@code validationIndicatorCol}) with early stopping ({@code patience}), warm start
 * ({@code setInitialModel}) and checkpointing ({@code setCheckpointing}) are on the MLP estimators. The
 * models' {@code transform} scores partitions in blocks of rows, one GEMM per layer and block
 * ({@code io.sparkprop.exec.BlockScorer}). The jar registers the estimators and models in
 * {@code META-INF/services} for the Spark Connect server's ML handler, which builds them by class name; the
 * MLP models' summaries are Spark's {@code HasTrainingSummary}, and the models size themselves
 * ({@code estimatedSize}) and save to the driver's disk ({@code saveToLocal}) for its model cache.
 */
package io.sparkprop.ml;
