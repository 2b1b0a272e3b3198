"""Modules, layers and losses in PyTorch's shape, trained through srcgrad's generated
adjoints (no tape): ``Module``, ``Parameter``, ``Sequential``, ``Linear``, ``ReLU``,
``MSELoss``, ``CrossEntropyLoss``...; ``srcgrad.nn.functional`` holds the same as functions,
``srcgrad.nn.init`` the initialisations."""

from srcgrad.nn import functional, init
from srcgrad.nn.attention import MultiheadAttention
from srcgrad.nn.conv import AvgPool2d, Conv1d, Conv2d, MaxPool2d
from srcgrad.nn.layers import (
    ELU,
    GELU,
    BatchNorm1d,
    Bilinear,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from srcgrad.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from srcgrad.nn.module import Module, ModuleDict, ModuleList, Parameter, Sequential
from srcgrad.nn.recurrent import LSTM, RNN

__all__ = ["AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "Bilinear", "Conv1d",
           "Conv2d", "CrossEntropyLoss", "MaxPool2d", "MultiheadAttention",
           "Dropout", "ELU", "Embedding", "Flatten", "GELU", "HuberLoss", "Identity", "KLDivLoss",
           "L1Loss", "LSTM", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module",
           "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "RNN", "ReLU", "Sequential",
           "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "functional",
           "init"]
