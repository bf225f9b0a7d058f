package io.sparkprop.util;

/**
 * Validation of settings, with one wording for every setter: the setting's name, what is expected,
 * and the value found.
 */
@Internal
public final class Checks {
    private Checks() {
    }

    /** {@code value}, if it is finite and ≥ 0. */
    public static double finiteNonNegative(String name, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, found " + value);
        }
        return value;
    }

    /** {@code value}, if it is finite and > 0. */
    public static double finitePositive(String name, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be finite and > 0, found " + value);
        }
        return value;
    }

    /** {@code value}, if it is in {@code [0, 1)}. */
    public static double unitInterval(String name, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1), found " + value);
        }
        return value;
    }

    /** {@code value}, if it is in {@code [0, 1]}. */
    public static double closedUnitInterval(String name, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], found " + value);
        }
        return value;
    }

    /** {@code value}, if it is at least {@code min}; {@code meaning}, if not null, explains a special value. */
    public static int atLeast(String name, int value, int min, String meaning) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + (meaning == null ? "" : " (" + meaning + ")")
                    + ", found " + value);
        }
        return value;
    }

    /** {@code value}, if it is not null. */
    public static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        return value;
    }
}
