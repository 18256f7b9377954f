"""Draw the demo camera's picture: a small untidy kitchen (scripts/demo/kitchen.jpg).

The JPEG is in the repository; this script is how it was made (`scripts/run python
scripts/demo/draw_kitchen.py`). It is a drawing, not a photo, so it carries no one's home.
"""

from __future__ import annotations

from pathlib import Path
import random

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 480
OUT = Path(__file__).with_name("kitchen.jpg")


def draw() -> Image.Image:
    """Draw the kitchen: window, cabinets, a counter with a sink, dishes, a spill, a full bin."""
    rng = random.Random(7)
    img = Image.new("RGB", (WIDTH, HEIGHT), (226, 219, 203))
    d = ImageDraw.Draw(img)

    # Back wall tiles above the counter.
    for y in range(150, 290, 20):
        for x in range(0, WIDTH, 30):
            d.rectangle(
                (x, y, x + 29, y + 19), fill=(236, 236, 228), outline=(205, 205, 196)
            )
    # Window with sky and a tree.
    d.rectangle((250, 20, 430, 140), fill=(250, 250, 245))
    d.rectangle((258, 28, 422, 132), fill=(150, 196, 235))
    d.ellipse((362, 62, 420, 130), fill=(86, 140, 80))
    d.rectangle((258, 28, 422, 132), outline=(250, 250, 245), width=4)
    d.line((340, 28, 340, 132), fill=(250, 250, 245), width=4)
    # Upper cabinets.
    for x0 in (10, 110, 450, 550):
        d.rectangle(
            (x0, 10, x0 + 90, 130), fill=(176, 132, 90), outline=(120, 88, 58), width=3
        )
        d.rectangle((x0 + 70, 60, x0 + 76, 90), fill=(210, 210, 210))
    # Counter top and lower cabinets.
    d.rectangle((0, 290, WIDTH, 310), fill=(90, 90, 96))
    for x0 in range(0, WIDTH, 128):
        d.rectangle(
            (x0 + 2, 312, x0 + 126, 400),
            fill=(176, 132, 90),
            outline=(120, 88, 58),
            width=3,
        )
        d.rectangle((x0 + 56, 330, x0 + 72, 336), fill=(210, 210, 210))
    # Floor tiles.
    for y in range(400, HEIGHT, 40):
        for x in range(-40 if (y // 40) % 2 else 0, WIDTH, 80):
            d.rectangle(
                (x, y, x + 79, y + 39), fill=(198, 190, 176), outline=(168, 160, 146)
            )
    # Sink and tap.
    d.rectangle((260, 282, 420, 296), fill=(180, 184, 190), outline=(130, 134, 140))
    d.line((340, 240, 340, 282), fill=(160, 164, 170), width=6)
    d.line((340, 242, 365, 242), fill=(160, 164, 170), width=6)
    # A stack of dirty plates in the sink and cups beside it.
    for i in range(5):
        y = 272 - i * 6
        d.ellipse((285, y, 385, y + 14), fill=(245, 245, 240), outline=(150, 150, 150))
        d.arc((300, y + 2, 360, y + 12), 0, 180, fill=(150, 110, 60), width=2)
    for x in (180, 212, 440):
        d.rectangle((x, 258, x + 24, 290), fill=(200, 70, 60), outline=(140, 40, 30))
        d.arc((x + 18, 264, x + 34, 282), 270, 90, fill=(140, 40, 30), width=3)
    # A spill and crumbs on the counter.
    d.ellipse((480, 291, 560, 303), fill=(120, 70, 40))
    for _ in range(40):
        x, y = rng.randrange(40, 240), rng.randrange(292, 304)
        d.ellipse((x, y, x + 3, y + 2), fill=(214, 170, 100))
    # A pan on the stove side with leftovers.
    d.ellipse((40, 262, 140, 292), fill=(50, 50, 55))
    d.line((140, 277, 190, 270), fill=(50, 50, 55), width=6)
    d.ellipse((60, 268, 120, 284), fill=(170, 110, 60))
    # Crumbs and a sock on the floor.
    for _ in range(60):
        x, y = rng.randrange(0, WIDTH), rng.randrange(410, HEIGHT)
        d.ellipse((x, y, x + 4, y + 3), fill=(120, 96, 60))
    d.polygon(
        ((200, 440), (240, 436), (250, 452), (236, 462), (206, 456)), fill=(70, 90, 160)
    )
    # An overflowing bin.
    d.rectangle(
        (560, 370, 620, 460), fill=(120, 124, 130), outline=(80, 84, 90), width=3
    )
    d.ellipse((552, 350, 628, 384), fill=(40, 40, 44))
    for x, y, colour in (
        (560, 340, (230, 200, 80)),
        (590, 332, (240, 240, 240)),
        (606, 346, (200, 60, 60)),
    ):
        d.ellipse((x, y, x + 22, y + 18), fill=colour)
    return img.filter(ImageFilter.GaussianBlur(0.6))


if __name__ == "__main__":
    draw().save(OUT, "JPEG", quality=85, optimize=True)
    print(f"{OUT} ({OUT.stat().st_size} bytes)")
