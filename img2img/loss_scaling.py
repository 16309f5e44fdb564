"""Keras' LossScaleOptimizer, made to skip or apply a step on every replica together.

Under float16 a step whose gradients overflow is skipped and the loss scale halved. Keras 3 (3.15;
``_tf_apply``, from keras-team/keras#18691) decides that from the first replica's gradients alone, on the
assumption that they are already summed over the replicas; they are not (the inner optimiser sums them later).
So when only another replica overflows, the step is applied with that replica's infinities in the sum and
every weight becomes NaN: a two-replica float16 CycleGAN's critic losses turned NaN in its second epoch on a
CPU split in two. Here every replica's verdict is all-reduced first, so all skip or all apply, as one device
on the global batch would. With one replica it is Keras' own code path.
"""

from __future__ import annotations

from typing import Any

from img2img.keras_import import import_keras

keras = import_keras()


@keras.saving.register_keras_serializable(package="img2img")
class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """``keras.optimizers.LossScaleOptimizer`` whose overflow check covers every replica's gradients."""

    def _tf_apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return super()._tf_apply(grads, trainable_variables)
        overflowed = tf.cast(tf.logical_not(self.check_finite(grads)), tf.float32)
        finite = tf.equal(context.all_reduce(tf.distribute.ReduceOp.SUM, overflowed), 0.0)
        if tf.__internal__.distribute.strategy_supports_no_merge_call():
            return keras.ops.cond(finite, lambda: self._stateful_handle_finite_grads(grads, trainable_variables),
                                  self._stateful_handle_non_finite_grads)

        def cross_replica(distribution: Any, finite: Any, grads: Any, trainable_variables: Any) -> None:
            # Every replica holds the same all-reduced verdict; the cond must run here (Keras' reasoning: a
            # branch that merges cannot be taken from a replica context).
            verdict = distribution.experimental_local_results(finite)[0]

            def apply() -> None:
                distribution.extended.call_for_each_replica(self._stateful_handle_finite_grads,
                                                            args=(grads, trainable_variables))

            keras.ops.cond(verdict, apply, self._stateful_handle_non_finite_grads)

        context.merge_call(cross_replica, args=(finite, grads, trainable_variables))
        return None
