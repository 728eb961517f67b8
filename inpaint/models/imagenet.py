"""ImageNet channel statistics (RGB, for [0, 1] images): the normalisation of MADF, the MAE, and the
VGG16 / ResNet50 loss backbones (torchvision's ``transforms.Normalize`` values used by all their authors)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
