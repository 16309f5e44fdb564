"""The options the trainer gives every model through ``--set``. Their defaults are Keras' own optimiser
defaults; a model declares its paper's in ``GAN.training_defaults``, and a loss's optimiser defaults and the
user's ``--set`` come after it."""

from __future__ import annotations

from img2img.options import Option

TRAINER_OPTIONS: dict[str, Option] = {
    "optimizer": Option("adam", "optimizer for both players", ("adam", "rmsprop")),
    "lr": Option(1e-3, "learning rate of both players", minimum=0),
    "d_lr": Option(0.0, "critic learning rate; 0 means use lr", minimum=0),
    "beta_1": Option(0.9, "Adam beta_1", minimum=0, maximum=1),
    "beta_2": Option(0.999, "Adam beta_2", minimum=0, maximum=1),
    "n_critic": Option(1, "critic updates per generator update", minimum=1),
    "unroll": Option(0, "Unrolled GAN: the generator plays against the critic as it would be after this many "
                     "more steps of its own (unroll_optimizer), differentiated through (Metz et al. 2017; 5 in "
                     "the paper); 0 = off", minimum=0),
    "unroll_optimizer": Option("sgd", "the update rule of the unrolled critic copy: sgd at the critic's rate, or "
                               "adam, the critic's own Adam continued from its moments (the authors' code)",
                               ("sgd", "adam")),
    "mode_seeking": Option(0.0, "MSGAN: weight of the mode-seeking term, which asks the generator to turn two "
                           "latents of one condition into different images (Mao et al. 2019: 1); 0 = off",
                           minimum=0),
    "pack": Option(1, "PacGAN: the critic judges this many samples at once, stacked on the channel (or feature) "
                   "axis, real packs against fake packs (Lin et al. 2018; 2-4 in the paper); 1 = off",
                   minimum=1),
    "lr_constant_epochs": Option(0, "epochs at the full learning rate before linear decay starts", minimum=0),
    "lr_decay_epochs": Option(0, "epochs of linear decay to zero after the constant ones; 0 = no decay",
                              minimum=0),
    "jit_compile": Option("auto", "XLA-compile the training step; auto = Keras' choice: on with one GPU, off on "
                          "CPUs and over several replicas (true is refused there)",
                          ("auto", "true", "false"), resumable=True),
    "grappler": Option("auto", "TensorFlow's graph optimiser; auto = off on CPUs (seconds saved at start-up, "
                       "none lost per step), on with a GPU", ("auto", "true", "false"), resumable=True),
    "cpu_threads": Option("auto", "how TensorFlow shares the CPU's cores: split = two ops at a time with half "
                          "the cores each, tensorflow = its own default (any op may take every core); auto = split "
                          "where the model declares its step many small independent ops (concurrent_branches), on "
                          "a machine without GPUs", ("auto", "split", "tensorflow"), resumable=True),
    "sync_batch_norm": Option(True, "with several replicas (--strategy), batch norm uses statistics over all of "
                              "them, so N replicas train as one device on the global batch", resumable=True),
    "steps_per_execution": Option(1, "training steps per call into TensorFlow (Keras' steps_per_execution): "
                                  "saves Python's per-step overhead, which pays for small models (toy-mlp); "
                                  "progress and the NaN check then see every Nth step. Lowered to divide the "
                                  "epoch and the steps left; 1 under --strategy multi-worker", minimum=1,
                                  resumable=True),
    "keep_checkpoints": Option(3, "newest checkpoints kept in the run directory; 0 keeps every epoch's",
                               minimum=0, resumable=True),
}
