"""Finding, checking, installing and downloading the TruFor checkpoint.

The trained TruFor weights are not ours to ship (GRIP-UNINA licence: non-profit use
only), so the user brings them: either by naming a file (``--weights``, env
``TRUFOR_WEIGHTS``) or by installing the official release once into the per-user data
folder.  Everything here treats the checkpoint as untrusted input:

* it is only ever unpickled with ``torch.load(weights_only=True)``; the only extra
  globals allowed are the NumPy scalar/dtype types that the released training
  checkpoint contains next to its ``state_dict`` (there is no fallback to unrestricted
  unpickling, whatever the file holds);
* every problem becomes one :class:`~trufor_desk.errors.WeightsError` whose message is
  a single line the CLI and GUI can show as is;
* installing verifies the published hashes, never modifies the source file and writes
  the destination atomically, so a crash never leaves a half-written checkpoint where
  the engine would pick it up.

The package is Qt-free and imports torch (and NumPy) only inside the functions that need
it, so ``import trufor_desk.engines.trufor.weights`` stays cheap for ``--help`` and
``weights status``.  Nothing here touches the network except :func:`download_weights`,
which runs only when the user asks for it.

One module per step, each importing only the ones above it (this file re-exports them):

- ``resolve``: the official release's identity, the install folder, the lookup order;
- ``load``: safe loading and the strict key/shape check;
- ``install``: verify hashes and install atomically;
- ``status``: which checkpoint would be used, and is it the official one;
- ``download``: fetch the official release and install it.
"""

from .download import ProgressCallback, download_weights
from .install import install_weights
from .load import load_checkpoint
from .resolve import (
    CHECKPOINT_NAME,
    DATA_DIR_ENV_VAR,
    ENV_VAR,
    OFFICIAL_CKPT_SHA256,
    OFFICIAL_URL,
    OFFICIAL_ZIP_MD5,
    OFFICIAL_ZIP_SHA256,
    SIDECAR_NAME,
    STATE_NOT_INSTALLED,
    STATE_UNVERIFIED,
    STATE_VERIFIED,
    ZIP_MEMBER,
    installed_dir,
    installed_path,
    resolve_weights,
)
from .status import weights_status

__all__ = [
    "OFFICIAL_URL",
    "OFFICIAL_ZIP_MD5",
    "OFFICIAL_ZIP_SHA256",
    "OFFICIAL_CKPT_SHA256",
    "ZIP_MEMBER",
    "ENV_VAR",
    "DATA_DIR_ENV_VAR",
    "CHECKPOINT_NAME",
    "SIDECAR_NAME",
    "installed_dir",
    "installed_path",
    "resolve_weights",
    "load_checkpoint",
    "install_weights",
    "weights_status",
    "download_weights",
]
