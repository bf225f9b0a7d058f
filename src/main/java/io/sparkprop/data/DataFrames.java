package io.sparkprop.data;

import java.util.Arrays;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Reading {@link Example}s from DataFrame columns, with schema errors that name the column. */
public final class DataFrames {
    private DataFrames() {
    }

    /**
     * The examples of {@code df}: features from a Vector column; the target from a numeric column (one
     * value: a regression target, or a class index for a multi-output network) or a Vector column (all
     * outputs); the weight from a numeric column, or 1 when {@code weightCol} is {@code null} or empty.
     *
     * @throws IllegalArgumentException if a column is missing or of the wrong type
     */
    public static JavaRDD<Example> toExamples(Dataset<Row> df, String featuresCol, String labelCol, String weightCol) {
        StructType schema = df.schema();
        checkVector(schema, featuresCol, "features");
        boolean vectorLabel = field(schema, labelCol, "label").dataType().equals(SQLDataTypes.VectorType());
        if (!vectorLabel) {
            checkNumeric(schema, labelCol, "label");
        }
        boolean weighted = weightCol != null && !weightCol.isEmpty();
        if (weighted) {
            checkNumeric(schema, weightCol, "weight");
        }
        Column label = vectorLabel ? functions.col(labelCol) : functions.col(labelCol).cast(DataTypes.DoubleType);
        Column weight = weighted ? functions.col(weightCol).cast(DataTypes.DoubleType) : functions.lit(1.0);
        Dataset<Row> selected = df.select(functions.col(featuresCol), label, weight);
        String fName = featuresCol;
        String lName = labelCol;
        String wName = weighted ? weightCol : null;
        return selected.javaRDD().map(row -> {
            if (row.isNullAt(0)) {
                throw new IllegalArgumentException("column '" + fName + "' is null in a row; drop or fill such rows");
            }
            if (row.isNullAt(1)) {
                throw new IllegalArgumentException("column '" + lName + "' is null in a row; drop or fill such rows");
            }
            if (row.isNullAt(2)) {
                throw new IllegalArgumentException("column '" + wName + "' is null in a row; drop or fill such rows");
            }
            Vector features = row.getAs(0);
            double[] target = vectorLabel ? ((Vector) row.getAs(1)).toArray() : new double[] {row.getDouble(1)};
            return Example.weighted(row.getDouble(2), features, target);
        });
    }

    private static StructField field(StructType schema, String name, String role) {
        if (name == null || !Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(role + " column '" + name + "' does not exist; available columns: "
                    + String.join(", ", schema.fieldNames()));
        }
        return schema.apply(name);
    }

    private static void checkVector(StructType schema, String name, String role) {
        DataType type = field(schema, name, role).dataType();
        if (!type.equals(SQLDataTypes.VectorType())) {
            throw new IllegalArgumentException(role + " column '" + name + "' must be of type vector (use "
                    + "VectorAssembler), found " + type.simpleString());
        }
    }

    private static void checkNumeric(StructType schema, String name, String role) {
        DataType type = field(schema, name, role).dataType();
        if (!(type instanceof NumericType)) {
            throw new IllegalArgumentException(role + " column '" + name + "' must be numeric, found "
                    + type.simpleString());
        }
    }
}
