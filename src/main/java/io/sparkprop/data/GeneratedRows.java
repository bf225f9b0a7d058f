package io.sparkprop.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

import io.sparkprop.util.Internal;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Generated data as a DataFrame of {@code features} (Vector) and {@code label} (double), made on the executors
 * in slices of {@value #SLICE} rows, each slice from its own generator seeded by the seed and the slice's
 * index: the same rows on any cluster, and no rows shipped from the driver.
 */
@Internal
public final class GeneratedRows {
    /** Rows per generated partition. */
    public static final int SLICE = 50_000;

    private static final StructType SCHEMA = new StructType().add("features", SQLDataTypes.VectorType())
            .add("label", DataTypes.DoubleType);

    /** Makes one row from a slice's generator. */
    @FunctionalInterface
    public interface RowMaker extends Serializable {
        Row next(SplittableRandom random);
    }

    private GeneratedRows() {
    }

    /** {@code rows} rows made by {@code maker}, in {@code ⌈rows / SLICE⌉} partitions. */
    public static Dataset<Row> frame(SparkSession spark, int rows, long seed, RowMaker maker) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int partitions = (rows + SLICE - 1) / SLICE;
        List<Integer> parts = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            parts.add(p);
        }
        // rows made as they are read: a slice of wide dense rows (50,000 × 784 doubles is 314 MB) is never held whole
        JavaRDD<Row> data = sc.parallelize(parts, partitions).flatMap(p -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + p);
            int count = rows / partitions + (p < rows % partitions ? 1 : 0);
            return new Iterator<Row>() {
                private int made;

                @Override
                public boolean hasNext() {
                    return made < count;
                }

                @Override
                public Row next() {
                    if (made == count) {
                        throw new NoSuchElementException();
                    }
                    made++;
                    return maker.next(random);
                }
            };
        });
        return spark.createDataFrame(data, SCHEMA);
    }
}
