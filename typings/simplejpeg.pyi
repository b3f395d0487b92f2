# Type stubs for simplejpeg (the package ships none): the functions shelfcam uses.
from typing import Any

import numpy as np
import numpy.typing as npt

def decode_jpeg_header(
    data: bytes | bytearray | memoryview,
    min_height: int = 0,
    min_width: int = 0,
    min_factor: float = 1,
    strict: bool = True,
) -> tuple[int, int, str, str]: ...
def decode_jpeg(
    data: bytes | bytearray | memoryview,
    colorspace: str = "RGB",
    fastdct: bool = False,
    fastupsample: bool = False,
    min_height: int = 0,
    min_width: int = 0,
    min_factor: float = 1,
    buffer: Any = None,
    strict: bool = True,
) -> npt.NDArray[np.uint8]: ...
def encode_jpeg(
    image: npt.NDArray[np.uint8],
    quality: int = 85,
    colorspace: str = "RGB",
    colorsubsampling: str = "444",
    fastdct: bool = True,
) -> bytes: ...
def is_jpeg(data: bytes | bytearray | memoryview) -> bool: ...
