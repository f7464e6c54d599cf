"""What ADBC raises: the errors a backend's fast reader lets through for its caller to word."""

from __future__ import annotations

import adbc_driver_manager
import pyarrow as pa

from todo_data.backends.base import DriverError

DRIVER_ERRORS: tuple[type[BaseException], ...] = (adbc_driver_manager.Error, pa.ArrowException, OSError, DriverError)
