"""A user module with a target function, for module:function tests."""

import jax.numpy as jnp


def parabola(x):
    return jnp.sum(x**2, axis=1)
