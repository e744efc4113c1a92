package org.realmjava.tensor.kernels;

/**
 * Element-wise functions y = f(x). The backward of each needs x, y or both:
 * exp: dy*y; log: dy/x; sqrt: dy/(2y); tanh: dy*(1-y^2); relu: dy*[x>0];
 * gelu (erf): dy*(Phi(x) + x*phi(x)); gelu (tanh): derivative of the tanh approximation.
 */
public enum UnaryOp {
    EXP, LOG, SQRT, TANH, RELU, GELU_ERF, GELU_TANH
}
