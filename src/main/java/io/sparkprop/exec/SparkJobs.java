package io.sparkprop.exec;

import io.sparkprop.util.Internal;
import org.apache.spark.SparkException;

/** Turning a failed Spark job back into the error a user needs. */
@Internal
public final class SparkJobs {
    private SparkJobs() {
    }

    /**
     * A bad example fails its task with an {@link IllegalArgumentException} that names the row; Spark
     * wraps it in a {@link SparkException} ("Job aborted due to stage failure: …"). This returns the
     * input error itself, with Spark's exception as its cause; any other failure comes back as an
     * {@link IllegalStateException} saying which step failed.
     *
     * @param step what the job was doing, e.g. "packing the training data"
     */
    public static RuntimeException inputError(Exception e, String step) {
        if (!(e instanceof SparkException) && e instanceof RuntimeException) {
            return (RuntimeException) e;
        }
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof IllegalArgumentException) {
                return new IllegalArgumentException(c.getMessage(), e);
            }
        }
        return new IllegalStateException(step + " failed: " + e.getMessage(), e);
    }
}
