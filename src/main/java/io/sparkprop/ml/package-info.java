/**
 * The Spark ML API: estimators {@link io.sparkprop.ml.MlpClassifier} and
 * {@link io.sparkprop.ml.MlpRegressor} and their models, usable as Pipeline stages and inside
 * {@code CrossValidator}. They validate columns and params and delegate training to
 * {@link io.sparkprop.train.Trainer}. (Persistence, the ridge estimator, validation-based early
 * stopping and warm start are still to come.)
 */
package io.sparkprop.ml;
