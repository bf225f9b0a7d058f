package io.sparkprop.util;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a type that is public only because another sparkprop package uses it: not for users, and free to
 * change between versions. The public surface is every public type without this mark (the README lists it;
 * {@code PublicSurfaceTest} checks that every public type is one or the other).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface Internal {
}
