"""Estimating a request before it is sent: parameters, history, one request or a batch.

(Named `estimator`, not `estimate`: `costkit.estimator.estimate` is the public function.)"""
