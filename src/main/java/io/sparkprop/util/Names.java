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
}
