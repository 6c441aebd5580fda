# The Vulkan backend, included by the top CMakeLists.txt. When GGALLOC_VULKAN is on and the
# Vulkan headers, loader library and glslc are all found, it adds the backend's sources and
# the generated shader source to GGALLOC_SOURCES, GGALLOC_USE_VULKAN to GGALLOC_DEFINITIONS,
# Vulkan::Vulkan to GGALLOC_LIBS and the shader target to GGALLOC_VULKAN_DEPS. Otherwise the
# library is built without it and a status line says why.

set(GGALLOC_VULKAN_ENABLED OFF)
if(NOT GGALLOC_VULKAN)
    message(STATUS "Vulkan backend: off (GGALLOC_VULKAN=OFF)")
    return()
endif()

find_package(Vulkan QUIET)
if(NOT Vulkan_FOUND)
    message(STATUS "Vulkan backend: off (Vulkan headers or loader library not found)")
    return()
endif()

find_program(GGALLOC_GLSLC glslc HINTS "$ENV{VULKAN_SDK}/bin")
if(NOT GGALLOC_GLSLC)
    message(STATUS "Vulkan backend: off (glslc not found)")
    return()
endif()

find_package(Python3 COMPONENTS Interpreter QUIET)
if(NOT Python3_Interpreter_FOUND)
    message(STATUS "Vulkan backend: off (python3 not found to embed the shaders)")
    return()
endif()

set(GGALLOC_VK_DIR ${CMAKE_CURRENT_LIST_DIR})
set(GGALLOC_VK_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/vulkan-shaders)
file(GLOB GGALLOC_VK_SHADERS CONFIGURE_DEPENDS ${GGALLOC_VK_DIR}/shaders/*.comp ${GGALLOC_VK_DIR}/shaders/*.glsl)
file(GLOB GGALLOC_VK_SOURCES CONFIGURE_DEPENDS ${GGALLOC_VK_DIR}/*.c)

add_custom_command(
    OUTPUT ${GGALLOC_VK_GEN_DIR}/vk-shaders.c ${GGALLOC_VK_GEN_DIR}/vk-shaders.h
    COMMAND ${Python3_EXECUTABLE} ${GGALLOC_VK_DIR}/build_shaders.py --out ${GGALLOC_VK_GEN_DIR} --glslc ${GGALLOC_GLSLC}
    # the script leaves unchanged files alone; touching them keeps make from re-running it
    COMMAND ${CMAKE_COMMAND} -E touch ${GGALLOC_VK_GEN_DIR}/vk-shaders.c ${GGALLOC_VK_GEN_DIR}/vk-shaders.h
    DEPENDS ${GGALLOC_VK_DIR}/build_shaders.py ${GGALLOC_VK_SHADERS}
    COMMENT "Compiling Vulkan compute shaders"
    VERBATIM)
add_custom_target(ggalloc_vk_shaders DEPENDS ${GGALLOC_VK_GEN_DIR}/vk-shaders.c ${GGALLOC_VK_GEN_DIR}/vk-shaders.h)

list(APPEND GGALLOC_SOURCES ${GGALLOC_VK_SOURCES} ${GGALLOC_VK_GEN_DIR}/vk-shaders.c)
list(APPEND GGALLOC_DEFINITIONS GGALLOC_USE_VULKAN)
list(APPEND GGALLOC_LIBS Vulkan::Vulkan)
list(APPEND GGALLOC_VULKAN_DEPS ggalloc_vk_shaders)
include_directories(${GGALLOC_VK_GEN_DIR})
set(GGALLOC_VULKAN_ENABLED ON)
message(STATUS "Vulkan backend: on (${Vulkan_LIBRARY}, ${GGALLOC_GLSLC})")
