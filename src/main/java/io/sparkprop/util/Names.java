package io.sparkprop.util;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Enum constants by the names settings, params, config keys and model files spell them: lower case
 * ({@code relu}, {@code adam}, {@code netlib}), parsed case-insensitively with surrounding white space
 * ignored, and refused with every accepted name listed.
 */
@Internal
public final class Names {
    private Names() {
    }

    /**
     * The constant of {@code type} named {@code name}, case-insensitive.
     *
     * @param what the setting's name in the message, e.g. {@code activation}
     * @throws IllegalArgumentException {@code unknown <what> '<name>', expected one of <names>}
     */
    public static <E extends Enum<E>> E parse(Class<E> type, String what, String name) {
        if (name != null) {
            for (E e : type.getEnumConstants()) {
                if (e.name().equalsIgnoreCase(name.trim())) {
                    return e;
                }
            }
        }
        throw new IllegalArgumentException("unknown " + what + " '" + name + "', expected one of "
                + String.join(", ", names(type)));
    }

    /** The lower-case name of {@code e}, as settings spell it. */
    public static String of(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** Every constant's lower-case name, in declaration order. */
    public static <E extends Enum<E>> String[] names(Class<E> type) {
        return Arrays.stream(type.getEnumConstants()).map(Names::of).collect(Collectors.toList()).toArray(new String[0]);
    }

    /** {@code bytes} for a log line: {@code 512 B}, {@code 3.4 KB}, {@code 120.0 MB}, {@code 4.80 GB} (powers of 1024). */
    public static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024L * 1024) {
            return String.format(java.util.Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        if (bytes < 1024L * 1024 * 1024) {
            return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / 1048576.0);
        }
        return String.format(java.util.Locale.ROOT, "%.2f GB", bytes / 1073741824.0);
    }
}
