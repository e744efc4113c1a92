package org.realmjava.tensor.kernels;

/** Element-wise c = a op b. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV
}
