package io.sparkprop.testutil;

import org.apache.spark.sql.SparkSession;

/** The {@code local[2]} session the Spark tests share, one per test class. */
public final class SparkTestSupport {
    private SparkTestSupport() {
    }

    /** {@code run} with the local property {@code key} of this thread set to {@code value} for its jobs. */
    public static <T> T withLocalProperty(org.apache.spark.api.java.JavaSparkContext sc, String key, String value,
                                          java.util.function.Supplier<T> run) {
        String before = sc.getLocalProperty(key);
        sc.setLocalProperty(key, value);
        try {
            return run.get();
        } finally {
            sc.setLocalProperty(key, before);
        }
    }

    /** A {@code local[2]} session on loopback without UI. Stop it in {@code @AfterAll}. */
    public static SparkSession start(Class<?> testClass) {
        return start(testClass, java.util.Map.of());
    }

    /** {@link #start(Class)} with more settings. */
    public static SparkSession start(Class<?> testClass, java.util.Map<String, String> settings) {
        SparkSession.Builder builder = SparkSession.builder();
        settings.forEach(builder::config);
        return builder
                .master("local[2]")
                .appName(testClass.getSimpleName())
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
    }
}
