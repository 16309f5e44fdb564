"""A tiny fully connected GAN: small enough to train in seconds, and any registered loss works with it."""

import keras
from keras import layers

from img2img import GAN, Img2ImgError, Option


class MLPGAN(GAN):
    name = "mlp-gan"
    description = "two-layer perceptron generator and critic for images up to 32 px (example plugin)"
    default_loss = "least-squares-example"
    default_image_size = 16
    training_defaults = {"lr": 2e-4, "beta_1": 0.5}  # Adam as DCGAN trains it
    options = {
        "latent_dim": Option(32, "size of z"),
        "hidden": Option(128, "units in each hidden layer"),
    }

    @classmethod
    def check_image_size(cls, size):
        if not 4 <= size <= 32:
            raise Img2ImgError(f"--image-size {size}: mlp-gan supports 4 to 32 px")

    def build_generator(self):
        pixels = self.image_size * self.image_size * self.channels
        z = keras.Input((self.latent_dim,))
        x = layers.Dense(self.settings["hidden"], activation="relu")(z)
        x = layers.Dense(pixels, activation="tanh", dtype="float32")(x)
        image = layers.Reshape((self.image_size, self.image_size, self.channels))(x)
        return keras.Model(z, image, name="generator")

    def build_discriminator(self):
        image = keras.Input((self.image_size, self.image_size, self.channels))
        x = layers.Flatten()(image)
        x = layers.Dense(self.settings["hidden"])(x)
        x = layers.LeakyReLU(0.2)(x)
        return keras.Model(image, layers.Dense(1, dtype="float32")(x), name="discriminator")
