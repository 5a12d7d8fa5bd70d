"""Architectures (dlib's layer sizes), the TF1-style Adam, and gin compatibility."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from infofrag.models import architectures
from infofrag.models import layers
from infofrag.models import optimizers
from infofrag.training import train

# The operative config dlib 1.5 wrote for zoo model 250 (beta-VAE, beta 16, seed 0).
DLIB_TRAIN_GIN = """\
# Parameters for vae/AdamOptimizer:
# ==============================================================================
vae/AdamOptimizer.beta1 = 0.9
vae/AdamOptimizer.beta2 = 0.999
vae/AdamOptimizer.epsilon = 1e-08
vae/AdamOptimizer.learning_rate = 0.0001
vae/AdamOptimizer.name = 'Adam'
vae/AdamOptimizer.use_locking = False
bernoulli_loss.subtract_true_image_entropy = False
dataset.name = 'dsprites_full'
decoder.decoder_fn = @deconv_decoder
encoder.encoder_fn = @conv_encoder
encoder.num_latent = 10
export_as_tf_hub.drop_collections = None
model.batch_size = 64
model.eval_steps = 5
model.model = @vae()
model.model_num = 250
model.name = 'beta_vae'
model.random_seed = 0
model.training_steps = 300
reconstruction_loss.activation = 'logits'
reconstruction_loss.loss_fn = @bernoulli_loss
vae.beta = 16.0
vae_optimizer.learning_rate = None
vae_optimizer.optimizer_fn = @vae/AdamOptimizer
"""


def _num_params(module):
  return sum(int(np.prod(v.shape)) for v in module.trainable_variables)


def test_conv_encoder_and_deconv_decoder_have_dlibs_shapes():
  encoder = architectures.ConvEncoder([64, 64, 3], 10, layers.SeedStream(0))
  mean, logvar = encoder(tf.zeros([2, 64, 64, 3]))
  assert mean.shape == (2, 10) and logvar.shape == (2, 10)
  # conv 4x4x3x32, 4x4x32x32, 2x2x32x64, 2x2x64x64, dense 1024->256, two 256->10 heads.
  expected = (16 * 3 * 32 + 32) + (16 * 32 * 32 + 32) + (4 * 32 * 64 + 64) + (4 * 64 * 64 + 64) \
      + (1024 * 256 + 256) + 2 * (256 * 10 + 10)
  assert _num_params(encoder) == expected
  assert [v.shape.as_list() for v in (encoder.e1.kernel, encoder.e3.kernel)] == \
      [[4, 4, 3, 32], [2, 2, 32, 64]]
  decoder = architectures.DeconvDecoder(10, [64, 64, 3], layers.SeedStream(0))
  assert decoder(tf.zeros([5, 10])).shape == (5, 64, 64, 3)
  expected_dec = (10 * 256 + 256) + (256 * 1024 + 1024) + (16 * 64 * 64 + 64) \
      + (16 * 64 * 32 + 32) + (16 * 32 * 32 + 32) + (16 * 32 * 3 + 3)
  assert _num_params(decoder) == expected_dec


def test_fc_architectures_and_discriminator_sizes():
  encoder = architectures.FcEncoder([64, 64, 1], 6, layers.SeedStream(0))
  assert _num_params(encoder) == 4096 * 1200 + 1200 + 1200 * 1200 + 1200 + 2 * (1200 * 6 + 6)
  decoder = architectures.FcDecoder(6, [64, 64, 1], layers.SeedStream(0))
  assert decoder(tf.zeros([3, 6])).shape == (3, 64, 64, 1)
  disc = architectures.ClippedDiscriminator(architectures.FcDiscriminator(6, layers.SeedStream(0)))
  logits, probs = disc(tf.zeros([4, 6]))
  assert logits.shape == (4, 2) and len(disc.network.hidden) == 6
  assert np.all(probs.numpy() >= 1e-6) and np.all(probs.numpy() <= 1 - 1e-6)


def test_mlp_architecture_is_configurable():
  encoder = architectures.MlpEncoder([2], 1, layers.SeedStream(0), hidden_units=(8, 4),
                                     activation="relu")
  assert [l.kernel.shape.as_list() for l in encoder.hidden] == [[2, 8], [8, 4]]
  decoder = architectures.MlpDecoder(1, [2], layers.SeedStream(0), hidden_units=(5,))
  assert decoder(tf.zeros([7, 1])).shape == (7, 2)
  with pytest.raises(ValueError, match="Unknown activation 'relux'"):
    architectures.MlpEncoder([2], 1, layers.SeedStream(0), activation="relux")


def test_shape_mismatch_errors_name_the_fix():
  with pytest.raises(architectures.ArchitectureError, match="mlp_encoder"):
    architectures.ConvEncoder([2], 3, layers.SeedStream(0))
  with pytest.raises(architectures.ArchitectureError, match="multiples of 16"):
    architectures.DeconvDecoder(3, [40, 40, 1], layers.SeedStream(0))


def test_deconv_decoder_is_dlibs_at_64_and_scales_to_32():
  at_64 = architectures.DeconvDecoder(10, [64, 64, 1], layers.SeedStream(0))
  assert at_64.d2.kernel.shape == (256, 1024)  # dlib's dense 1024 -> [4, 4, 64]
  at_32 = architectures.DeconvDecoder(10, [32, 32, 1], layers.SeedStream(0))
  assert at_32.d2.kernel.shape == (256, 256)  # [2, 2, 64]
  assert at_32(tf.zeros([3, 10])).shape == (3, 32, 32, 1)


def test_num_latent_must_be_positive():
  with gin.unlock_config():
    with pytest.raises(architectures.ArchitectureError, match="encoder.num_latent"):
      architectures.make_gaussian_encoder([2], layers.SeedStream(0), num_latent=0,
                                          encoder_fn=architectures.MlpEncoder)


def test_initial_weights_depend_only_on_seed():
  a = architectures.MlpEncoder([2], 3, layers.SeedStream(5))
  b = architectures.MlpEncoder([2], 3, layers.SeedStream(5))
  c = architectures.MlpEncoder([2], 3, layers.SeedStream(6))
  np.testing.assert_array_equal(a.hidden[0].kernel.numpy(), b.hidden[0].kernel.numpy())
  assert not np.array_equal(a.hidden[0].kernel.numpy(), c.hidden[0].kernel.numpy())
  limit = np.sqrt(6.0 / (2 + 256))  # Glorot uniform bound of the first layer
  assert np.abs(a.hidden[0].kernel.numpy()).max() <= limit


def test_adam_matches_tf1_update_rule():
  opt = optimizers.AdamOptimizer(learning_rate=0.1, beta1=0.5, beta2=0.9, epsilon=1e-3)
  w = tf.Variable([1.0, -2.0])
  opt.build([w])
  expected_w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
  for t in range(1, 4):
    grad = 2 * expected_w  # gradient of sum(w^2)
    opt.apply_gradients([tf.constant(grad, tf.float32)], [w], tf.constant(t - 1, tf.int64))
    m = 0.5 * m + 0.5 * grad
    v = 0.9 * v + 0.1 * grad ** 2
    lr_t = 0.1 * np.sqrt(1 - 0.9 ** t) / (1 - 0.5 ** t)
    expected_w = expected_w - lr_t * m / (np.sqrt(v) + 1e-3)
  np.testing.assert_allclose(w.numpy(), expected_w, rtol=1e-5)


def test_dlib_train_gin_parses_with_infofrag_configurables():
  gin.clear_config()
  try:
    train.register_configurables()
    gin.parse_config(DLIB_TRAIN_GIN)
    assert gin.query_parameter("vae.beta") == 16.0
    assert gin.query_parameter("vae/AdamOptimizer.learning_rate") == 0.0001
    optimizer = optimizers.make_vae_optimizer()
    assert isinstance(optimizer, optimizers.AdamOptimizer)
    assert optimizer.learning_rate == 0.0001 and optimizer.beta2 == 0.999
  finally:
    gin.clear_config()


def test_unknown_binding_is_a_clear_error():
  gin.clear_config()
  try:
    with pytest.raises(train.TrainingError, match="No configurable matching 'vaee'"):
      train.parse_gin([], ["vaee.beta = 2."])
    with pytest.raises(train.TrainingError, match="doesn't have a parameter named 'betta'"):
      train.parse_gin([], ["vae.betta = 2."])
  finally:
    gin.clear_config()
