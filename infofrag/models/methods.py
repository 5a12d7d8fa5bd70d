"""The six unsupervised methods of disentanglement_lib's `unsupervised_study_v1`.

gin names and hyperparameters as in dlib's `methods/unsupervised/vae.py`:
`@vae()` (beta), `@annealed_vae()` (gamma, c_max, iteration_threshold),
`@factor_vae()` (gamma; `discriminator.discriminator_fn`, `discriminator_optimizer`),
`@dip_vae()` (lambda_od, lambda_d_factor, dip_type 'i'/'ii'), `@beta_tc_vae()` (beta).

Loss terms (scalars, nats for Bernoulli data), as in dlib:
  reconstruction_loss = batch mean of the per-example reconstruction loss
  kl_loss             = batch mean of KL(q(z|x) || N(0, I))
  regularizer         = method specific (see each class)
  loss                = reconstruction_loss + regularizer
  elbo                = -(reconstruction_loss + kl_loss)   (dlib reports the negative)
FactorVAE also has discriminator_loss (what its discriminator maximises).
"""

from __future__ import annotations

import gin
import tensorflow as tf

from infofrag.models import architectures
from infofrag.models import losses
from infofrag.models import optimizers


def loss_terms(reconstruction_loss, kl_loss, regularizer):
  """dlib's reported loss terms: reconstruction, elbo, regularizer, kl and total loss."""
  return {
      "reconstruction_loss": reconstruction_loss,
      "elbo": -(reconstruction_loss + kl_loss),
      "regularizer": regularizer,
      "kl_loss": kl_loss,
      "loss": reconstruction_loss + regularizer,
  }


def sample_from_latent_distribution(z_mean, z_logvar, seed):
  """z = mean + exp(logvar / 2) * eps, eps ~ N(0, I) from stateless seed [2]."""
  eps = tf.random.stateless_normal(tf.shape(z_mean), seed=seed, dtype=z_mean.dtype)
  return z_mean + tf.exp(z_logvar / 2) * eps


def shuffle_codes(z, seed):
  """Permutes each latent dimension of z [B, L] independently across the batch."""
  keys = tf.random.stateless_uniform(tf.shape(z), seed=seed)
  order = tf.argsort(keys, axis=0, stable=True)  # [B, L], one permutation per column
  # Gather along the batch axis per latent: work on [L, B] rows.
  return tf.transpose(tf.gather(tf.transpose(z), tf.transpose(order), batch_dims=1))


def _sub_seed(seed, k):
  """A distinct stateless seed per random op of one step."""
  return tf.stack([seed[0], seed[1] * 4 + k])


class GaussianEncoderModel(tf.Module):
  """Base VAE: encoder, decoder, the VAE optimizer and dlib's loss terms.

  Subclasses define `regularizer(kl_loss, z_mean, z_logvar, z_sampled, step)`.
  Call `build(observation_shape, seeds)` before use.
  """

  method_name = "vae"
  result_keys = ("reconstruction_loss", "elbo", "regularizer", "kl_loss", "loss")

  def build(self, observation_shape, seeds):
    """Creates networks and optimizer variables for observations of that shape."""
    self.observation_shape = list(observation_shape)
    self.encoder = architectures.make_gaussian_encoder(self.observation_shape, seeds)
    self.num_latent = int(self.encoder.means.kernel.shape[-1])
    self.decoder = architectures.make_decoder(self.num_latent, self.observation_shape, seeds)
    self.vae_variables = list(self.encoder.trainable_variables) + list(
        self.decoder.trainable_variables)
    self.vae_optimizer = optimizers.make_vae_optimizer()
    self.vae_optimizer.build(self.vae_variables)

  def forward(self, x, step, seed):
    """Loss terms of batch x [B, *observation_shape] at global step `step`."""
    z_mean, z_logvar = self.encoder(x)
    z_sampled = sample_from_latent_distribution(z_mean, z_logvar, _sub_seed(seed, 0))
    reconstructions = self.decoder(z_sampled)
    reconstruction_loss = tf.reduce_mean(losses.make_reconstruction_loss(x, reconstructions))
    kl_loss = losses.compute_gaussian_kl(z_mean, z_logvar)
    regularizer = self.regularizer(kl_loss, z_mean, z_logvar, z_sampled, step)
    return loss_terms(reconstruction_loss, kl_loss, regularizer)

  def train_step(self, x, step, seed):
    """One optimisation step; returns the loss terms before the update."""
    with tf.GradientTape() as tape:
      terms = self.forward(x, step, seed)
    gradients = tape.gradient(terms["loss"], self.vae_variables)
    self.vae_optimizer.apply_gradients(gradients, self.vae_variables, step)
    return terms

  def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step):
    raise NotImplementedError


@gin.configurable("vae")
class BetaVAE(GaussianEncoderModel):
  """beta-VAE (Higgins et al. 2017): regularizer = beta * KL."""

  def __init__(self, beta=gin.REQUIRED):
    super().__init__(name="vae")
    self.beta = float(beta)

  def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step):
    return self.beta * kl_loss


@gin.configurable("annealed_vae")
class AnnealedVAE(GaussianEncoderModel):
  """AnnealedVAE (Burgess et al. 2018): gamma * |KL - C(step)|, C rising linearly to
  c_max over iteration_threshold steps."""

  method_name = "annealed_vae"

  def __init__(self, gamma=gin.REQUIRED, c_max=gin.REQUIRED,
               iteration_threshold=gin.REQUIRED):
    super().__init__(name="annealed_vae")
    if float(iteration_threshold) <= 0:
      raise ValueError(f"annealed_vae.iteration_threshold must be > 0, got {iteration_threshold!r}.")
    self.gamma, self.c_max = float(gamma), float(c_max)
    self.iteration_threshold = float(iteration_threshold)

  def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step):
    capacity = losses.anneal(self.c_max, step, self.iteration_threshold)
    return self.gamma * tf.abs(kl_loss - capacity)


@gin.configurable("dip_vae")
class DIPVAE(GaussianEncoderModel):
  """DIP-VAE (Kumar et al. 2018): KL + covariance penalty (type 'i': Cov[mu];
  type 'ii': Cov[mu] + E[diag exp(logvar)]); lambda_d = lambda_d_factor * lambda_od."""

  method_name = "dip_vae"

  def __init__(self, lambda_od=gin.REQUIRED, lambda_d_factor=gin.REQUIRED, dip_type="i"):
    super().__init__(name="dip_vae")
    if dip_type not in ("i", "ii"):
      raise ValueError(f"dip_vae.dip_type must be 'i' or 'ii', got {dip_type!r}.")
    self.lambda_od, self.lambda_d_factor = float(lambda_od), float(lambda_d_factor)
    self.dip_type = dip_type

  def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step):
    covariance = losses.covariance_of_mean(z_mean)
    if self.dip_type == "ii":
      covariance = covariance + tf.linalg.diag(tf.reduce_mean(tf.exp(z_logvar), axis=0))
    lambda_d = self.lambda_d_factor * self.lambda_od
    return kl_loss + losses.dip_regularizer(covariance, self.lambda_od, lambda_d)


@gin.configurable("beta_tc_vae")
class BetaTCVAE(GaussianEncoderModel):
  """beta-TC-VAE (Chen et al. 2018): KL + (beta - 1) * minibatch-weighted TC estimate."""

  method_name = "beta_tc_vae"

  def __init__(self, beta=gin.REQUIRED):
    super().__init__(name="beta_tc_vae")
    self.beta = float(beta)

  def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step):
    return kl_loss + (self.beta - 1.0) * losses.total_correlation(z_sampled, z_mean, z_logvar)


@gin.configurable("factor_vae")
class FactorVAE(GaussianEncoderModel):
  """FactorVAE (Kim & Mnih 2018): KL + gamma * TC, TC = E[logit_0 - logit_1] of a
  discriminator telling q(z) samples from dimension-wise shuffled ones.

  The VAE (encoder + decoder) and the discriminator are updated simultaneously from
  the same forward pass with separate optimizers, as in dlib.
  """

  method_name = "factor_vae"
  result_keys = ("reconstruction_loss", "regularizer", "kl_loss", "loss")

  def __init__(self, gamma=gin.REQUIRED):
    super().__init__(name="factor_vae")
    self.gamma = float(gamma)

  def build(self, observation_shape, seeds):
    super().build(observation_shape, seeds)
    self.discriminator = architectures.make_discriminator(self.num_latent, seeds)
    self.discriminator_variables = list(self.discriminator.trainable_variables)
    self.discriminator_optimizer = optimizers.make_discriminator_optimizer()
    self.discriminator_optimizer.build(self.discriminator_variables)

  def forward(self, x, step, seed):
    z_mean, z_logvar = self.encoder(x)
    z_sampled = sample_from_latent_distribution(z_mean, z_logvar, _sub_seed(seed, 0))
    z_shuffled = shuffle_codes(z_sampled, _sub_seed(seed, 1))
    logits_z, probs_z = self.discriminator(z_sampled)
    _, probs_z_shuffled = self.discriminator(z_shuffled)
    reconstructions = self.decoder(z_sampled)
    reconstruction_loss = tf.reduce_mean(losses.make_reconstruction_loss(x, reconstructions))
    kl_loss = losses.compute_gaussian_kl(z_mean, z_logvar)
    tc_loss = tf.reduce_mean(logits_z[:, 0] - logits_z[:, 1])
    regularizer = kl_loss + self.gamma * tc_loss
    discriminator_loss = (0.5 * tf.reduce_mean(tf.math.log(probs_z[:, 0]))
                          + 0.5 * tf.reduce_mean(tf.math.log(probs_z_shuffled[:, 1])))
    return dict(loss_terms(reconstruction_loss, kl_loss, regularizer), tc_loss=tc_loss,
                discriminator_loss=discriminator_loss)

  def train_step(self, x, step, seed):
    with tf.GradientTape(persistent=True) as tape:
      terms = self.forward(x, step, seed)
      discriminator_objective = -terms["discriminator_loss"]
    vae_gradients = tape.gradient(terms["loss"], self.vae_variables)
    discriminator_gradients = tape.gradient(discriminator_objective,
                                            self.discriminator_variables)
    del tape
    self.vae_optimizer.apply_gradients(vae_gradients, self.vae_variables, step)
    self.discriminator_optimizer.apply_gradients(
        discriminator_gradients, self.discriminator_variables, step)
    return terms
