package io.sparkprop.testutil;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A {@code local[2]} Spark session for one test class ({@link SparkTestSupport#start}): started before the
 * class's {@code @BeforeAll} methods, stopped after its {@code @AfterAll} ones. The session and its Java
 * context are written into the class's static fields of type {@link SparkSession} and
 * {@link JavaSparkContext}, so a test class says only
 *
 * <pre>{@code
 * @ExtendWith(LocalSpark.class)
 * class SomeTest {
 *     private static SparkSession spark;      // set by LocalSpark
 *     private static JavaSparkContext sc;     // set by LocalSpark
 * }</pre>
 */
public final class LocalSpark implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(LocalSpark.class);

    @Override
    public void beforeAll(ExtensionContext context) throws IllegalAccessException {
        Class<?> testClass = context.getRequiredTestClass();
        SparkSession spark = SparkTestSupport.start(testClass);
        context.getStore(NAMESPACE).put("spark", spark);
        inject(testClass, spark, JavaSparkContext.fromSparkContext(spark.sparkContext()));
    }

    @Override
    public void afterAll(ExtensionContext context) throws IllegalAccessException {
        SparkSession spark = context.getStore(NAMESPACE).remove("spark", SparkSession.class);
        inject(context.getRequiredTestClass(), null, null);
        if (spark != null) {
            spark.stop();
        }
    }

    private static void inject(Class<?> testClass, SparkSession spark, JavaSparkContext sc)
            throws IllegalAccessException {
        for (Field f : testClass.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || Modifier.isFinal(f.getModifiers())) {
                continue;
            }
            if (f.getType() == SparkSession.class) {
                f.setAccessible(true);
                f.set(null, spark);
            } else if (f.getType() == JavaSparkContext.class) {
                f.setAccessible(true);
                f.set(null, sc);
            }
        }
    }
}
