"""Loss terms of every method against hand-computed numpy values on fixed small tensors."""

import math

import numpy as np
import pytest
import tensorflow as tf

from infofrag.models import losses
from infofrag.models import methods

RNG = np.random.RandomState(3)
Z_MEAN = RNG.normal(size=(5, 3)).astype(np.float32)
Z_LOGVAR = (0.3 * RNG.normal(size=(5, 3))).astype(np.float32)
Z = (Z_MEAN + np.exp(Z_LOGVAR / 2) * RNG.normal(size=(5, 3))).astype(np.float32)


def _np_kl(mean, logvar):
  return np.mean(0.5 * np.sum(mean ** 2 + np.exp(logvar) - logvar - 1, axis=1))


def test_bernoulli_loss_logits_is_summed_binary_cross_entropy():
  labels = np.array([[[[0.0], [1.0]], [[1.0], [0.25]]]], np.float32)  # [1, 2, 2, 1]
  logits = np.array([[[[0.5], [-1.0]], [[2.0], [0.0]]]], np.float32)
  p = 1 / (1 + np.exp(-logits))
  expected = -np.sum(labels * np.log(p) + (1 - labels) * np.log(1 - p))
  got = losses.bernoulli_loss(tf.constant(labels), tf.constant(logits), "logits").numpy()
  np.testing.assert_allclose(got, [expected], rtol=1e-5)


def test_bernoulli_loss_subtracts_true_image_entropy():
  labels = np.array([[0.0, 1.0, 0.25, 0.5]], np.float32)
  logits = np.array([[0.5, -1.0, 2.0, 0.0]], np.float32)
  base = losses.bernoulli_loss(tf.constant(labels), tf.constant(logits), "logits").numpy()
  q = np.clip(labels, 1e-6, 1 - 1e-6)
  entropy = -np.sum(q * np.log(q) + (1 - q) * np.log(1 - q))
  got = losses.bernoulli_loss(tf.constant(labels), tf.constant(logits), "logits",
                              subtract_true_image_entropy=True).numpy()
  np.testing.assert_allclose(got, base - entropy, rtol=1e-5)
  # With true images equal to the predicted probabilities the bound is tight.
  probs_logits = np.log(q / (1 - q))
  tight = losses.bernoulli_loss(tf.constant(q), tf.constant(probs_logits), "logits",
                                subtract_true_image_entropy=True).numpy()
  np.testing.assert_allclose(tight, [0.0], atol=1e-4)


def test_bernoulli_loss_tanh_activation():
  labels = np.array([[0.0, 1.0, 0.3]], np.float32)
  outputs = np.array([[0.2, -0.4, 1.5]], np.float32)
  p = np.clip(np.tanh(outputs) / 2 + 0.5, 1e-6, 1 - 1e-6)
  expected = -np.sum(labels * np.log(p) + (1 - labels) * np.log(1 - p))
  got = losses.bernoulli_loss(tf.constant(labels), tf.constant(outputs), "tanh").numpy()
  np.testing.assert_allclose(got, [expected], rtol=1e-5)


def test_l2_loss_activations_and_reductions():
  x = np.array([[0.2, 0.9], [0.0, 1.0]], np.float32)
  out = np.array([[0.1, -2.0], [3.0, 0.5]], np.float32)
  sig = 1 / (1 + np.exp(-out))
  np.testing.assert_allclose(losses.l2_loss(tf.constant(x), tf.constant(out), "logits").numpy(),
                             np.sum((x - sig) ** 2, axis=1), rtol=1e-5)
  np.testing.assert_allclose(losses.l2_loss(tf.constant(x), tf.constant(out), "tanh").numpy(),
                             np.sum((x - (np.tanh(out) / 2 + 0.5)) ** 2, axis=1), rtol=1e-5)
  np.testing.assert_allclose(
      losses.l2_loss(tf.constant(x), tf.constant(out), "linear", reduction="mean").numpy(),
      np.mean((x - out) ** 2, axis=1), rtol=1e-5)


def test_reconstruction_loss_rejects_unknown_activation():
  with pytest.raises(ValueError, match="reconstruction_loss.activation='sigmoid'"):
    losses.bernoulli_loss(tf.zeros([1, 2]), tf.zeros([1, 2]), "sigmoid")


def test_gaussian_kl_matches_closed_form():
  got = float(losses.compute_gaussian_kl(tf.constant(Z_MEAN), tf.constant(Z_LOGVAR)))
  assert got == pytest.approx(_np_kl(Z_MEAN, Z_LOGVAR), rel=1e-5)
  assert float(losses.compute_gaussian_kl(tf.zeros([4, 3]), tf.zeros([4, 3]))) == 0.0


def _np_total_correlation(z, mean, logvar):
  """Explicit loops over j (sample) and i (posterior), as in the estimator's definition."""
  batch, dims = z.shape
  values = []
  for j in range(batch):
    log_q = np.array([[-0.5 * ((z[j, l] - mean[i, l]) ** 2 / np.exp(logvar[i, l]) + logvar[i, l]
                               + math.log(2 * math.pi)) for l in range(dims)] for i in range(batch)])
    joint = np.log(np.sum(np.exp(log_q.sum(axis=1))))
    marginals = sum(np.log(np.sum(np.exp(log_q[:, l]))) for l in range(dims))
    values.append(joint - marginals)
  return float(np.mean(values))


def test_total_correlation_matches_loop_definition():
  got = float(losses.total_correlation(tf.constant(Z), tf.constant(Z_MEAN), tf.constant(Z_LOGVAR)))
  assert got == pytest.approx(_np_total_correlation(Z, Z_MEAN, Z_LOGVAR), rel=1e-4)


def test_covariance_and_dip_regularizer():
  cov = losses.covariance_of_mean(tf.constant(Z_MEAN)).numpy()
  np.testing.assert_allclose(cov, np.cov(Z_MEAN.T, bias=True), rtol=1e-4, atol=1e-6)
  off = cov - np.diag(np.diag(cov))
  expected = 2.0 * np.sum(off ** 2) + 7.0 * np.sum((np.diag(cov) - 1) ** 2)
  got = float(losses.dip_regularizer(tf.constant(cov), 2.0, 7.0))
  assert got == pytest.approx(expected, rel=1e-5)


def test_anneal_is_linear_then_capped():
  assert float(losses.anneal(25.0, 0, 100)) == 0.0
  assert float(losses.anneal(25.0, 40, 100)) == pytest.approx(10.0)
  assert float(losses.anneal(25.0, 1000, 100)) == 25.0


def _regularizer(model, step=0):
  kl = losses.compute_gaussian_kl(tf.constant(Z_MEAN), tf.constant(Z_LOGVAR))
  return float(model.regularizer(kl, tf.constant(Z_MEAN), tf.constant(Z_LOGVAR), tf.constant(Z),
                                 tf.constant(step, tf.int64)))


def test_method_regularizers_match_dlib_definitions():
  kl = _np_kl(Z_MEAN, Z_LOGVAR)
  assert _regularizer(methods.BetaVAE(beta=4.0)) == pytest.approx(4 * kl, rel=1e-5)
  annealed = methods.AnnealedVAE(gamma=1000.0, c_max=25.0, iteration_threshold=100)
  assert _regularizer(annealed, step=10) == pytest.approx(1000 * abs(kl - 2.5), rel=1e-4)
  tc = _np_total_correlation(Z, Z_MEAN, Z_LOGVAR)
  assert _regularizer(methods.BetaTCVAE(beta=6.0)) == pytest.approx(kl + 5 * tc, rel=1e-4)
  cov = np.cov(Z_MEAN.T, bias=True)
  off = cov - np.diag(np.diag(cov))
  dip_i = kl + 5 * np.sum(off ** 2) + 50 * np.sum((np.diag(cov) - 1) ** 2)
  model_i = methods.DIPVAE(lambda_od=5.0, lambda_d_factor=10.0, dip_type="i")
  assert _regularizer(model_i) == pytest.approx(dip_i, rel=1e-4)
  cov_ii = cov + np.diag(np.exp(Z_LOGVAR).mean(axis=0))
  off_ii = cov_ii - np.diag(np.diag(cov_ii))
  dip_ii = kl + 5 * np.sum(off_ii ** 2) + 5 * np.sum((np.diag(cov_ii) - 1) ** 2)
  model_ii = methods.DIPVAE(lambda_od=5.0, lambda_d_factor=1.0, dip_type="ii")
  assert _regularizer(model_ii) == pytest.approx(dip_ii, rel=1e-4)


def test_dip_type_is_validated():
  with pytest.raises(ValueError, match="dip_vae.dip_type must be 'i' or 'ii'"):
    methods.DIPVAE(lambda_od=1.0, lambda_d_factor=1.0, dip_type="iii")


def test_shuffle_codes_permutes_each_latent_independently():
  z = tf.constant(np.arange(40, dtype=np.float32).reshape(10, 4))
  shuffled = methods.shuffle_codes(z, tf.constant([1, 2], tf.int64)).numpy()
  for column in range(4):
    assert sorted(shuffled[:, column]) == sorted(z.numpy()[:, column])
  # Columns are shuffled with different permutations, and rows are broken up.
  orders = [tuple(np.argsort(shuffled[:, c])) for c in range(4)]
  assert len(set(orders)) > 1
  again = methods.shuffle_codes(z, tf.constant([1, 2], tf.int64)).numpy()
  np.testing.assert_array_equal(shuffled, again)
